// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const base = require('./.config/jest.config');

module.exports = {
  // Jest configuration provided by Grafana scaffolding
  ...base,
  // Panel queries are imported from ../sql/queries/*.sql (see webpack.config.ts).
  transform: {
    '\\.sql$': '<rootDir>/jest/sqlTransform.js',
    ...base.transform,
    // d3-color (via @grafana/data) ships .mjs only, which the scaffold's ts/js pattern misses.
    '^.+\\.mjs$': Object.values(base.transform)[0],
  },
};
