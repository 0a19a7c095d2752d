#!/usr/bin/env node
/** The bin: runs the app over this process's arguments and streams; the only process.exit. */
import { hideBin } from 'yargs/helpers';
import { ExitCode } from '../errors.js';
import { runCli } from './app.js';
import { processIo } from './output.js';
import { runInterruptUndo } from '../util/interrupt.js';

let interrupted = false;
function interrupt(): void {
  if (interrupted) process.exit(ExitCode.INTERRUPTED);
  interrupted = true;
  process.stderr.write('\ninterrupted: stopping (press Ctrl-C again to force)\n');
  process.exitCode = ExitCode.INTERRUPTED;
  // What a command must not leave half-done (paused writes, a scratch instance) is undone first.
  void runInterruptUndo((line) => process.stderr.write(`${line}\n`)).finally(() => {
    setTimeout(() => process.exit(ExitCode.INTERRUPTED), 3000).unref();
  });
}
process.on('SIGINT', interrupt);
process.on('SIGTERM', interrupt);

const code = await runCli(hideBin(process.argv), processIo);
process.exit(interrupted ? ExitCode.INTERRUPTED : code);
