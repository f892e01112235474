/**
 * Three projects: `unit` needs nothing but Node; `package` packs the built repo and installs the tarball
 * in a scratch project, as a user would (needs dist/ and npm's registry or cache, no broker);
 * `integration` talks to real Kafka brokers and a real schema registry, which
 * test/support/global-setup.ts brings up once for the whole run (env → Docker → JVM jars from Maven
 * Central) and tears down afterwards.
 */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 120000,
  // No forceExit: a green run leaves no handle open and jest exits on its own. A test that fails
  // mid-way may still leave a kafkajs consumer polling; test/support/global-teardown.ts then names
  // what keeps the process alive and ends it with a failing code instead of letting the run hang.
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
    },
    {
      displayName: 'package',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/package/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      slowTestThreshold: 60,
    },
  ],
};
