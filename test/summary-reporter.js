// Prints one plain closing line ("tests: N passed, N failed, N skipped") after jest's own summary.
// With TSTORCH_REPORT_EACH=1 (scripts/gpu-check.sh) it also prints each test's result the moment
// it ends, with the first line of a failure: jest reports a file only when the whole file is
// done, and a run cut off by a time limit on a rationed GPU would otherwise show nothing.
class SummaryReporter {
  onTestCaseResult(_test, r) {
    if (process.env.TSTORCH_REPORT_EACH !== '1') return;
    const mark = r.status === 'passed' ? 'PASS' : r.status === 'failed' ? 'FAIL' : 'SKIP';
    const why = r.status === 'failed' ? `: ${String(r.failureMessages[0] ?? '').split('\n').find((l) => l.trim()) ?? ''}` : '';
    process.stdout.write(`[${mark}] ${r.fullName} (${r.duration ?? 0} ms)${why.slice(0, 400)}\n`);
  }
  onRunComplete(_contexts, results) {
    const { numPassedTests: p, numFailedTests: f, numPendingTests: s, numFailedTestSuites: fs } = results;
    if (fs && !f) console.log(`suites: ${fs} failed to run`);
    console.log(`tests: ${p} passed, ${f + (fs && !f ? fs : 0)} failed, ${s} skipped`);
  }
}
module.exports = SummaryReporter;
