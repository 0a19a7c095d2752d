import type { CommandModule } from 'yargs';
import { CHECK_NAMES } from '../../install/check-names.js';
import { printResult, progressFor, type CommonArgs } from '../output.js';
import { lastValue, typed, withCommon, withTrust } from '../options.js';
import { engineForCommand } from '../engine-edge.js';

interface Args extends CommonArgs {
  instance: string;
  dataDir?: string;
  newInstance: string;
  newDataDir?: string;
  hostname: string;
  port: number;
  bundle?: string;
  trust: string[];
  timeout: number;
  skipCheck: string[];
}

export const rotateCommand = {
  command: 'rotate',
  describe:
    "move a Rekor v2 log's writes to a new shard: a new instance with a new key and origin; the old one read-only, its final checkpoint kept, both in the trust files",
  builder: (y) =>
    typed<Args>(
      withTrust(withCommon(y))
        .option('instance', {
          coerce: lastValue,
          type: 'string',
          demandOption: true,
          describe: 'the instance whose log is rotated out (it stays, read-only: what it holds keeps verifying)',
        })
        .option('data-dir', {
          coerce: lastValue,
          type: 'string',
          describe: "the old instance's directory, if not the default",
        })
        .option('new-instance', {
          coerce: lastValue,
          type: 'string',
          demandOption: true,
          describe: 'the new shard: a new instance, installed by this command',
        })
        .option('new-data-dir', {
          coerce: lastValue,
          type: 'string',
          describe: "the new instance's directory (default /var/lib/rekor-airgap/<new-instance>)",
        })
        .option('hostname', {
          coerce: lastValue,
          type: 'string',
          demandOption: true,
          describe: "the new shard's name for clients: its URL, TLS certificate and checkpoint origin (a new one)",
        })
        .option('port', {
          coerce: lastValue,
          type: 'number',
          demandOption: true,
          describe: "the new shard's HTTPS port (the old one keeps its own, for reads)",
        })
        .option('bundle', {
          coerce: lastValue,
          type: 'string',
          describe:
            "the bundle the new shard is installed from: the old instance's or a newer release (with --trust; not needed once it is installed)",
        })
        .option('timeout', {
          coerce: lastValue,
          type: 'number',
          default: 300,
          describe: 'seconds to wait for services to become healthy',
        })
        .option('skip-check', {
          type: 'string',
          array: true,
          default: [] as string[],
          choices: [...CHECK_NAMES],
          describe: "skip one of the new shard's preflight checks (repeatable)",
        })
        .example(
          '$0 log rotate --instance default --new-instance shard2 --hostname rekor2.site.internal --port 4443 --bundle ./bundle --trust bundle-signing.pub',
          'install shard2, switch default to read-only, and write trust files that list both',
        )
        .example(
          '$0 log rotate --instance default --new-instance shard2 --hostname rekor2.site.internal --port 4443',
          'after a failure: the same command resumes (the bundle is needed only until shard2 is installed)',
        )
        .epilogue(
          [
            'Steps, each kept before the next (a rerun of the same command resumes):',
            '  1. the new shard installed from --bundle: a new key, origin = --hostname, smoke-tested',
            "  2. the old log's checkpoint kept in its history",
            '  3. the old instance switched to rekor-tiles --read-only, restarted, a write proved refused (405)',
            '  4. its final checkpoint verified and kept',
            '  5. both states linked; the trust files of both list both logs: the old key with',
            '     validFor.end = the switch, the new one first and where clients write',
            'Entries of the old shard keep verifying with the new trust files. Rekor v1 logs are not sharded.',
          ].join('\n'),
        ),
    ),
  handler: async (args) => {
    const { rotateLog } = await import('../../install/rotate.js');
    const r = await rotateLog({
      engine: await engineForCommand(),
      instance: args.instance,
      newInstance: args.newInstance,
      hostname: args.hostname,
      port: args.port,
      trust: args.trust,
      timeoutSec: args.timeout,
      skipChecks: args.skipCheck,
      progress: progressFor(args),
      ...(args.dataDir ? { dataDir: args.dataDir } : {}),
      ...(args.newDataDir ? { newDataDir: args.newDataDir } : {}),
      ...(args.bundle ? { bundleDir: args.bundle } : {}),
    });
    const shard = (s: typeof r.old) => ({ instance: s.instance, url: s.url, origin: s.origin, logKeyId: s.logKeyId });
    printResult(
      args,
      {
        old: { ...shard(r.old), readOnlySince: r.rotatedAt, finalCheckpoint: r.final },
        new: shard(r.new),
        alreadyDone: r.alreadyDone,
        resumed: r.resumed,
        trust: { old: `${r.old.dataDir}/trust`, new: `${r.new.dataDir}/trust` },
      },
      [
        r.alreadyDone
          ? `${r.old.instance} was rotated to ${r.new.instance} already (trust files written again)`
          : `rotated: ${r.old.instance} → ${r.new.instance}${r.resumed ? ' (resumed)' : ''}`,
        `  old shard ${r.old.instance}: ${r.old.url} (origin ${r.old.origin}), read-only since ${r.rotatedAt}, final checkpoint size ${r.final.size}`,
        `  new shard ${r.new.instance}: ${r.new.url} (origin ${r.new.origin}), key ID ${r.new.logKeyId}`,
        `  trust files listing both: ${r.new.dataDir}/trust (or: rekor-airgap trust export --instance ${r.new.instance} --out DIR)`,
        '  hand the new trust files to clients: they write to the new shard and verify entries of both',
      ].join('\n'),
    );
  },
} satisfies CommandModule<object, Args>;
