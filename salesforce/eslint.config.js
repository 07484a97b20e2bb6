// ESLint for the package's Lightning web components: Salesforce's recommended LWC rules
// (@salesforce/eslint-config-lwc), plus Jest's globals and rules for the tests.
// https://developer.salesforce.com/docs/platform/lwc/guide/get-started-eslint.html
const lwcConfig = require("@salesforce/eslint-config-lwc");
const jestPlugin = require("eslint-plugin-jest");

module.exports = [
    ...lwcConfig.configs.recommended.map((config) => ({
        ...config,
        files: ["force-app/**/lwc/**/*.js"]
    })),
    {
        files: ["force-app/**/lwc/**/__tests__/**/*.js"],
        ...jestPlugin.configs["flat/recommended"]
    },
    {
        files: ["force-app/**/lwc/**/__tests__/**/*.js"],
        // Tests run in Node under Jest: require() for fixtures and inside jest.mock factories,
        // and timers to let Apex promises settle (the rule is meant for component code).
        languageOptions: { globals: { require: "readonly" } },
        rules: { "@lwc/lwc/no-async-operation": "off" }
    }
];
