/** Tests run the TypeScript sources through ts-jest (transpile only: `npm test` type-checks them first, `npm run typecheck`). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The CUDA suite runs on a GPU machine only (scripts/gpu-check.sh sets TSTORCH_TEST_CUDA=1).
  testPathIgnorePatterns: process.env.TSTORCH_TEST_CUDA ? [] : ['/node_modules/', 'cuda\\.test\\.ts$'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 120000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
