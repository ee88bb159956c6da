// Jest counterpart of webpack's asset/source rule for .sql imports: the module is the file's text.
module.exports = {
  process(sourceText) {
    return { code: `module.exports = ${JSON.stringify(sourceText)};` };
  },
};
