// Prints one plain closing line ("tests: N passed, N failed, N skipped") after jest's own summary.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests: p, numFailedTests: f, numPendingTests: s, numFailedTestSuites: fs } = results;
    if (fs && !f) console.log(`suites: ${fs} failed to run`);
    console.log(`tests: ${p} passed, ${f + (fs && !f ? fs : 0)} failed, ${s} skipped`);
  }
}
module.exports = SummaryReporter;
