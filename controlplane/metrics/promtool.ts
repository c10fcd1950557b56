// `promtool check metrics` on an exposition text, for the tests (and CI) that
// hold Shoal's /metrics to Prometheus' own linter. prom-client's default
// Node.js metrics include three gauges named *_total (nodejs_active_handles_total
// and friends) that the linter flags; they are prom-client's names, kept
// because dashboards for Node services use them, so those findings are
// dropped and everything else is a problem.

import { execFile } from 'node:child_process';

const KNOWN_UPSTREAM =
  /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;

/** Problems promtool reports (one per line), less prom-client's known ones; [] when clean. */
export function promtoolCheckMetrics(text: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => {
      const code = err ? (err as { code?: number | string }).code : 0;
      if (typeof code === 'string') {
        reject(err ?? new Error(`promtool: ${code}`));
        return;
      }
      const problems = (stdout + stderr)
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !KNOWN_UPSTREAM.test(l));
      // Exit 3 is "lint findings"; anything else non-zero is a parse error.
      if (code !== 0 && code !== 3 && problems.length === 0)
        problems.push(`promtool exited ${code}`);
      resolve(problems);
    });
    child.stdin?.end(text);
  });
}
