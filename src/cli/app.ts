/**
 * The yargs application, built by a factory so tests can run it without touching `process`.
 */
import yargs, { type Argv, type CommandModule } from 'yargs';
import { AirgapError } from '../errors.js';
import { TOOL_VERSION } from '../util/package-root.js';
import { bundleCommand } from './commands/bundle.js';
import { smokeCommand } from './commands/smoke.js';
import { statusCommand } from './commands/status.js';
import { exitCodesEpilogue } from './exit-codes.js';

export function buildApp(argv: string[]): Argv {
  return yargs(argv)
    .scriptName('rekor-airgap')
    .usage('$0 <command>\n\nTake a private Sigstore Rekor transparency log into an air-gapped network:\n'
      + 'bundle create (connected host) → bundle pack (media) → bundle verify/unpack → bundle install (offline host) → smoke.')
    .command(bundleCommand)
    .command(smokeCommand as unknown as CommandModule)
    .command(statusCommand as unknown as CommandModule)
    .demandCommand(1, 'name a command')
    .strict()
    .recommendCommands()
    .version(TOOL_VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .epilogue(exitCodesEpilogue())
    .fail((msg, err) => {
      if (err) throw err;
      throw new AirgapError('USAGE_INVALID', msg);
    });
}
