#!/usr/bin/env node
/** The bin: runs the app over this process's arguments and streams; the only process.exit. */
import { hideBin } from 'yargs/helpers';
import { ExitCode } from '../errors.js';
import { runCli } from './app.js';
import { processIo } from './output.js';

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(ExitCode.INTERRUPTED);
  interrupted = true;
  process.stderr.write('\ninterrupted: stopping (press Ctrl-C again to force)\n');
  process.exitCode = ExitCode.INTERRUPTED;
  setTimeout(() => process.exit(ExitCode.INTERRUPTED), 3000).unref();
});

const code = await runCli(hideBin(process.argv), processIo);
process.exit(interrupted ? ExitCode.INTERRUPTED : code);
