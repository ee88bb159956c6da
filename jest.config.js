/**
 * Proxy unit tests (proxy/test) and cross-component tests (tests/), TypeScript through ts-jest
 * in ESM mode. The plugin has its own Jest setup from create-plugin (plugin/jest.config.js).
 * @type {import('jest').Config}
 */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/proxy/test', '<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/proxy/tsconfig.json' }],
  },
  globalSetup: '<rootDir>/tests/support/globalSetup.js',
  globalTeardown: '<rootDir>/tests/support/globalTeardown.js',
  testTimeout: 30_000,
  // The embedded Postgres lives in the Jest parent process; one worker keeps its single
  // session's load predictable. A real server takes the default parallelism.
  maxWorkers: process.env.DATABASE_URL ? '50%' : 1,
};
