#!/usr/bin/env node
/** The bin. The one top-level catch and the only process.exit. */
import { hideBin } from 'yargs/helpers';
import { AirgapError, ExitCode } from '../errors.js';
import { buildApp } from './app.js';

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(ExitCode.INTERRUPTED);
  interrupted = true;
  process.stderr.write('\ninterrupted: stopping (press Ctrl-C again to force)\n');
  process.exitCode = ExitCode.INTERRUPTED;
  setTimeout(() => process.exit(ExitCode.INTERRUPTED), 3000).unref();
});

try {
  await buildApp(hideBin(process.argv)).parseAsync();
} catch (e) {
  if (e instanceof AirgapError) {
    process.stderr.write(`error [${e.code}]: ${e.message}\n`);
    if (e.code === 'USAGE_INVALID') {
      const words = hideBin(process.argv).filter((a) => !a.startsWith('-')).slice(0, 2).join(' ');
      process.stderr.write(`see: rekor-airgap ${words ? `${words} ` : ''}--help\n`);
    }
    process.exit(e.exitCode);
  }
  process.stderr.write(`internal error: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(ExitCode.INTERNAL);
}
