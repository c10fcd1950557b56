#!/usr/bin/env node
// Entry point of the `shoal` executable: parse, run, and exit with a code
// scripts can rely on (0 ok, 1 failure, 2 usage error).

import { buildProgram } from './program.js';
import { reportKubeError } from './commands/errors.js';

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    // One `error: …` line; --help exits 0, usage errors 2, failures 1, as scripts expect.
    return reportKubeError(err, (t) => process.stderr.write(t));
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
