/**
 * The yargs application, built by a factory over an Io so tests parse and run commands in-process.
 * `runCli` is the whole program: parse, run, map errors to exit codes; the bin only calls it.
 */
import yargs, { type Argv, type CommandModule } from 'yargs';
import { AirgapError, ExitCode, type ExitCodeValue } from '../errors.js';
import { TOOL_VERSION } from '../util/package-root.js';
import { backupCommand, restoreCommand } from './commands/backup.js';
import { bundleCommand } from './commands/bundle.js';
import { trustCommand } from './commands/trust.js';
import { witnessCommand } from './commands/witness.js';
import { k8sCommand } from './commands/k8s.js';
import { logCommand } from './commands/log.js';
import { monitorCommand } from './commands/monitor.js';
import { doctorCommand } from './commands/doctor.js';
import { smokeCommand } from './commands/smoke.js';
import { statusCommand } from './commands/status.js';
import { exitCodesEpilogue } from './exit-codes.js';
import { guarded, type AppOptions } from './app-options.js';
import type { Io } from './output.js';

export function buildApp(argv: string[], io: Io, opts: AppOptions = {}): Argv {
  const app = yargs(argv)
    .scriptName('rekor-airgap')
    .usage(
      '$0 <command>\n\nTake a private Sigstore Rekor transparency log into an air-gapped network:\n' +
        'bundle create (connected host) → bundle pack (media) → bundle verify/unpack → bundle install (offline host) → smoke.',
    )
    .middleware((a) => {
      (a as Record<string, unknown>).io = io;
    })
    .command(bundleCommand(opts))
    .command(guarded(smokeCommand as unknown as CommandModule, opts))
    .command(guarded(statusCommand as unknown as CommandModule, opts))
    .command(backupCommand(opts))
    .command(guarded(restoreCommand as unknown as CommandModule, opts))
    .command(trustCommand(opts))
    .command(witnessCommand(opts))
    .command(k8sCommand(opts))
    .command(logCommand(opts))
    .command(guarded(monitorCommand as unknown as CommandModule, opts))
    .command(guarded(doctorCommand as unknown as CommandModule, opts))
    .demandCommand(1, 'name a command')
    .strict()
    .recommendCommands()
    .version(TOOL_VERSION)
    .help()
    .alias('h', 'help')
    .exitProcess(false)
    .wrap(Math.min(110, io.columns || 100))
    .epilogue(exitCodesEpilogue())
    .fail((msg, err) => {
      if (err) throw err;
      throw new AirgapError('USAGE_INVALID', msg);
    });
  return app;
}

/** Runs the tool over argv; returns the exit code. Errors are printed as `error [CODE]: message`. */
export async function runCli(argv: string[], io: Io, opts: AppOptions = {}): Promise<ExitCodeValue> {
  try {
    await buildApp(argv, io, opts).parseAsync(argv, {}, (_err, _parsed, output) => {
      if (output) io.out(output.endsWith('\n') ? output : `${output}\n`);
    });
    return ExitCode.OK;
  } catch (e) {
    if (e instanceof AirgapError) {
      io.err(`error [${e.code}]: ${e.message}\n`);
      if (e.code === 'USAGE_INVALID') {
        const words = argv
          .filter((a) => !a.startsWith('-'))
          .slice(0, 2)
          .join(' ');
        io.err(`see: rekor-airgap ${words ? `${words} ` : ''}--help\n`);
      }
      return e.exitCode;
    }
    io.err(`internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return ExitCode.INTERNAL;
  }
}
