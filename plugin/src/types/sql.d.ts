// A .sql import is the file's text: webpack's asset/source rule (webpack.config.ts) in the build,
// jest/sqlTransform.js in tests.
declare module '*.sql' {
  const text: string;
  export default text;
}
