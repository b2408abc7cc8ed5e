// Prints one plain closing line per jest run, "unit: 50 passed, 0 failed, 0 skipped", as
// the very last line (at exit, after jest's own summary), for CI systems that read it.
export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const argv = process.argv;
    const project = argv[argv.indexOf("--selectProjects") + 1] ?? "tests";
    const {
      numPassedTests: passed,
      numFailedTests: failed,
      numPendingTests: skipped,
      numRuntimeErrorTestSuites: broken,
    } = results;
    const suffix = broken ? `, ${broken} suites failed to run` : "";
    const line = `${argv.includes("--selectProjects") ? project : "tests"}: ${passed} passed, ${failed + broken} failed, ${skipped} skipped${suffix}\n`;
    process.once("exit", () => process.stdout.write(line));
  }
}
