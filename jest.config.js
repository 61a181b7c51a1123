/** Jest in ESM mode: jose, openid-client and oidc-provider are ESM-only. */
export default {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { ignoreCodes: [151002] } }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 30000,
  maxWorkers: process.env.CI ? 2 : '50%',
  // A library timer left behind (oidc-provider, a keep-alive socket) must not keep `npm test` waiting after the last
  // test, in CI or on a 2-core machine where '50%' runs every file in one process; every test file closes what it
  // opened (`--detectOpenHandles` finds what one leaves), and the run still fails on any failing test.
  forceExit: true,
};
