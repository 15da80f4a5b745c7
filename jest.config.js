/**
 * Unit tests sit beside the code (`*.spec.ts`); end-to-end suites live in test/ (`*.e2e-spec.ts`)
 * and run against the real MariaDB and Redis with real migrations (globalSetup).
 * `npm test` runs every project in band; `npm run test:faults` the fault suite alone.
 */
const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // `@hotline/<lib>/<entry>` (e.g. `crypto/pseudonym`, `calls/records`) is a narrower entry point of a lib; it must come first.
  moduleNameMapper: { '^@hotline/([^/]+)/(.+)$': '<rootDir>/libs/$1/src/$2', '^@hotline/(.*)$': '<rootDir>/libs/$1/src' },
  setupFiles: ['<rootDir>/test/support/env.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
};

module.exports = {
  testTimeout: 30000,
  testSequencer: '<rootDir>/test/security/log-scan-last.sequencer.js',
  projects: [
    // test/unit: tests of the repository's own rules (scripts/check-rules.js, .dependency-cruiser.js).
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts', '<rootDir>/test/unit/**/*.spec.ts'],
    },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'] },
    { ...common, displayName: 'faults', testMatch: ['<rootDir>/test/faults/**/*.e2e-spec.ts'] },
    { ...common, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.e2e-spec.ts'] },
    { ...common, displayName: 'security', testMatch: ['<rootDir>/test/security/**/*.e2e-spec.ts'] },
  ],
};
