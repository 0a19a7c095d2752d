import type { Argv, CommandModule } from 'yargs';
import { guarded, type AppOptions } from '../app-options.js';
import { printResult, progressFor, type CommonArgs } from '../output.js';
import { lastValue, typed, withCommon } from '../options.js';
import { engineForCommand } from '../engine-edge.js';

interface AddLogArgs extends CommonArgs {
  instance: string;
  dataDir?: string;
  origin: string;
  vkey: string;
  url?: string;
  timeout: number;
}

const addLogCommand = {
  command: 'add-log',
  describe:
    'register a log with a witness instance of this host: it cosigns that log from now on (its checkpoints, signed by the key, consistent with the last it cosigned)',
  builder: (y) =>
    typed<AddLogArgs>(
      withCommon(y)
        .option('instance', { coerce: lastValue, type: 'string', default: 'default', describe: 'the witness instance' })
        .option('data-dir', {
          coerce: lastValue,
          type: 'string',
          describe: 'the instance directory, if not the default',
        })
        .option('origin', {
          coerce: lastValue,
          type: 'string',
          demandOption: true,
          describe: "the log's checkpoint origin (first line of its checkpoints)",
        })
        .option('vkey', {
          coerce: lastValue,
          type: 'string',
          demandOption: true,
          describe: "the log's note verifier key, <name>+<hex8>+<base64> (a rekor-airgap log's status --json shows it)",
        })
        .option('url', {
          coerce: lastValue,
          type: 'string',
          describe: "the log's URL (informative; the witness never calls it)",
        })
        .option('timeout', {
          coerce: lastValue,
          type: 'number',
          default: 120,
          describe: 'seconds to wait for the restarted witness',
        })
        .example(
          '$0 witness add-log --instance witness-a --origin rekor.site.internal --vkey "rekor.site.internal+1a2b3c4d+AQ…" --url https://rekor.site.internal:3443',
          'the witness restarts and cosigns that log; a second run changes nothing',
        ),
    ),
  handler: async (args) => {
    const { registerLog, readManagedWitness } = await import('../../instance/witness-registry.js');
    const r = await registerLog(
      {
        engine: await engineForCommand(),
        instance: args.instance,
        timeoutMs: args.timeout * 1000,
        progress: progressFor(args),
        ...(args.dataDir ? { dataDir: args.dataDir } : {}),
      },
      { origin: args.origin, vkey: args.vkey, url: args.url ?? '' },
    );
    const w = await readManagedWitness(args.instance, args.dataDir);
    printResult(
      args,
      {
        instance: w.instance,
        origin: args.origin,
        changed: r.changed,
        logs: r.logs,
        witnessName: w.name,
        witnessVkey: w.vkey,
      },
      r.changed
        ? `witness ${w.instance} now cosigns ${args.origin} (${r.logs} logs registered, the smoke test's included)`
        : `witness ${w.instance} already cosigns ${args.origin}: nothing changed`,
    );
  },
} satisfies CommandModule<object, AddLogArgs>;

export function witnessCommand(opts: AppOptions): CommandModule {
  return {
    command: 'witness <command>',
    describe: 'witness instances: register the logs they cosign',
    builder: (y: Argv) =>
      y.command(guarded(addLogCommand as unknown as CommandModule, opts)).demandCommand(1, 'name a witness command'),
    handler: () => undefined,
  };
}
