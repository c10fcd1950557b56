#!/usr/bin/env node
// Entry point of the `shoal` executable: parse, run, and exit with a code
// scripts can rely on (0 ok, 1 failure, 2 usage error).

import { CommanderError } from 'commander';
import { buildProgram } from './program.js';

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; usage errors exit 2, as scripts expect.
      return err.exitCode === 0 ? 0 : 2;
    }
    console.error(`shoal: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
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
