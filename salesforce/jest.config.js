// Jest for the package's Lightning Web Components (@salesforce/sfdx-lwc-jest: LWC compiler,
// lightning-* stubs, @salesforce/apex mocks). Tests live in each bundle's __tests__ folder,
// which .forceignore keeps out of deployments.
// https://developer.salesforce.com/docs/platform/lwc/guide/unit-testing-using-jest-installation.html
const { jestConfig } = require('@salesforce/sfdx-lwc-jest/config');

module.exports = {
    ...jestConfig,
    testMatch: ['**/lwc/**/__tests__/**/*.test.js'],
    modulePathIgnorePatterns: ['<rootDir>/.localdevserver'],
    // Applies when run with --coverage (scripts/check does): untested component code fails it.
    coverageThreshold: { global: { lines: 90, branches: 80 } }
};
