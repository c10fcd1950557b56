// Prints the plain "N passed, N failed" line CI reads, from vitest's JSON
// report. A run that failed before vitest wrote its report counts as one failure.
import { readFileSync } from 'node:fs';

const [file, rcArg] = process.argv.slice(2);
const rc = Number(rcArg ?? '0');
let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A suite that failed to load has no failed tests but did fail.
  if (failed === 0 && rc !== 0) failed = Math.max(1, report.numFailedTestSuites ?? 0);
} catch {
  failed = rc === 0 ? 0 : 1;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
