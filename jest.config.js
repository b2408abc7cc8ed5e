// Projects: unit tests sit beside the code; integration tests run against the process
// cluster (hack/cluster), which globalSetup starts once per run; node tests run real pods on
// its real node.
const common = {
  preset: "ts-jest/presets/default-esm",
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  transform: { "^.+\\.ts$": ["ts-jest", { useESM: true, diagnostics: false }] },
  modulePathIgnorePatterns: ["<rootDir>/dist/"],
};

export default {
  reporters: ["default", "<rootDir>/test/summary-reporter.js"],
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/{operator,proxy,hack}/**/*.test.ts"] },
    // The local mesh as processes (hack/local), through its gateway: needs `npm run build`.
    // test/conformance: Istio's traffic-management tasks on the same local mesh.
    {
      ...common,
      displayName: "e2e",
      testMatch: ["<rootDir>/test/e2e/**/*.test.ts", "<rootDir>/test/conformance/**/*.test.ts"],
    },
    {
      ...common,
      displayName: "integration",
      testMatch: ["<rootDir>/test/integration/**/*.test.ts"],
      globalSetup: "<rootDir>/test/integration/global-setup.ts",
      globalTeardown: "<rootDir>/test/integration/global-teardown.ts",
    },
    // Real pods on the process cluster's real node (containerd + kubelet), and the images: needs root.
    {
      ...common,
      displayName: "node",
      testMatch: ["<rootDir>/test/node/**/*.test.ts"],
      globalSetup: "<rootDir>/test/integration/global-setup.ts",
      globalTeardown: "<rootDir>/test/integration/global-teardown.ts",
    },
  ],
};
