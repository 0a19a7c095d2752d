import type { Argv, CommandModule } from 'yargs';
import { guarded, type AppOptions } from '../app-options.js';
import { printResult, progressFor, type CommonArgs } from '../output.js';
import { lastValue, typed, withCommon } from '../options.js';
import { engineForCommand } from '../engine-edge.js';

interface Args extends CommonArgs {
  instance: string;
  dataDir?: string;
  out?: string;
  outDir?: string;
  keep?: number;
  passphraseFile?: string;
  with: string[];
  timeout: number;
}

function withBackupCommon<T>(y: Argv<T>) {
  return withCommon(y)
    .option('instance', { coerce: lastValue, type: 'string', default: 'default', describe: 'instance name' })
    .option('data-dir', { coerce: lastValue, type: 'string', describe: 'the instance directory, if not the default' })
    .option('passphrase-file', {
      coerce: lastValue,
      type: 'string',
      describe:
        'file holding the passphrase that seals the secrets (else $REKOR_AIRGAP_BACKUP_PASSPHRASE, else <data-dir>/secrets/backup-passphrase)',
    })
    .option('with', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe:
        'hook executable run as `HOOK backup` (its stdout goes into the archive) and `HOOK restore` (repeatable)',
    })
    .option('timeout', {
      coerce: lastValue,
      type: 'number',
      default: 300,
      describe: 'seconds to wait for services (dumps and hooks get 20×)',
    });
}

const drillCommand = {
  command: 'drill',
  describe: 'backup → restore into a scratch instance → prove → remove it; prints the figures, fails on any fault',
  builder: (y) => typed<Args>(withBackupCommon(y).example('$0 backup drill --instance default --json', '')),
  handler: async (args) => {
    const { backupDrill, drillFailure } = await import('../../backup/drill.js');
    const r = await backupDrill({
      engine: await engineForCommand(),
      instance: args.instance,
      ...(args.dataDir ? { dataDir: args.dataDir } : {}),
      ...(args.passphraseFile ? { passphraseFile: args.passphraseFile } : {}),
      hooks: args.with,
      timeoutSec: args.timeout,
      progress: progressFor(args),
    });
    const b = r.backup;
    const s = r.restore;
    printResult(
      args,
      r,
      [
        `backup drill of ${r.instance}: ${r.ok ? 'PASSED' : 'FAILED'} in ${r.seconds.toFixed(1)} s`,
        ...(b
          ? [
              `  backup:  ${b.bytes} bytes, ${b.files} files + ${b.secrets} sealed secrets, ${b.checkpoint ? `tree size ${b.checkpoint.size}` : 'witness state'}, writes paused ${b.pausedSeconds.toFixed(1)} s, ${b.seconds.toFixed(1)} s`,
            ]
          : []),
        ...(s
          ? [
              `  restore: scratch instance ${r.scratch}, served size ${s.served?.size} root ${s.served?.rootHex}, ${s.seconds.toFixed(1)} s`,
              ...(s.audit ? [`  audit:   ${s.audit}`] : []),
              '  (read-only proof: the scratch copy shares the live key, so it signs no new checkpoint)',
            ]
          : []),
        ...(r.error ? [`  error [${r.error.code}]: ${r.error.message}`] : []),
        `  scratch instance ${r.scratch} removed`,
      ].join('\n'),
    );
    const failure = drillFailure(r);
    if (failure) throw failure;
  },
} satisfies CommandModule<object, Args>;

interface VerifyArgs extends CommonArgs {
  file: string;
  instance: string;
  dataDir?: string;
  passphraseFile?: string;
}

const verifyCommand = {
  command: 'verify <file>',
  describe:
    "check a backup archive without restoring: the passphrase opens the sealed secrets, which vouch for backup.json, which lists every file's digest",
  builder: (y) =>
    typed<VerifyArgs>(
      withCommon(y)
        .positional('file', { type: 'string', demandOption: true, describe: 'backup archive' })
        .option('instance', {
          coerce: lastValue,
          type: 'string',
          default: 'default',
          describe: 'instance whose secrets/backup-passphrase to use when no other passphrase is given',
        })
        .option('data-dir', {
          coerce: lastValue,
          type: 'string',
          describe: 'the instance directory, if not the default',
        })
        .option('passphrase-file', {
          coerce: lastValue,
          type: 'string',
          describe: 'file holding the passphrase (else $REKOR_AIRGAP_BACKUP_PASSPHRASE)',
        })
        .example(
          '$0 backup verify /media/backup/rekor.tar --passphrase-file ./backup-pass',
          'a copy taken off the host, before it is stored',
        )
        .example(
          '$0 backup verify /var/backups/rekor-airgap/default/latest.tar --instance default --json',
          "with the instance's own passphrase, for a script",
        ),
    ),
  handler: async (args) => {
    const { restoreInstance } = await import('../../backup/restore.js');
    const r = await restoreInstance({
      engine: await engineForCommand(),
      file: args.file,
      instance: args.instance,
      ...(args.dataDir ? { dataDir: args.dataDir } : {}),
      ...(args.passphraseFile ? { passphraseFile: args.passphraseFile } : {}),
      hooks: [],
      forceFork: false,
      trust: [],
      verifyOnly: true,
      timeoutSec: 60,
      progress: progressFor(args),
    });
    printResult(
      args,
      r.backup,
      `${args.file}: verified — the passphrase opens the secrets and vouches for backup.json and every file: instance ${r.backup.instance}, taken ${r.backup.createdAt}, ${r.backup.files} files, checkpoint of tree size ${r.backup.size}, root ${r.backup.rootHex}`,
    );
  },
} satisfies CommandModule<object, VerifyArgs>;

export function backupCommand(opts: AppOptions): CommandModule {
  return guarded(
    {
      command: 'backup',
      describe:
        'back up an instance: pause writes, archive the log, keys, configuration and checkpoint history (secrets sealed with a passphrase), resume',
      builder: (y: Argv) => {
        y.command(guarded(drillCommand as unknown as CommandModule, opts));
        y.command(guarded(verifyCommand as unknown as CommandModule, opts));
        return typed<Args>(
          withBackupCommon(y)
            .option('out', {
              coerce: lastValue,
              type: 'string',
              describe: 'write one archive here (0600; refuses to overwrite)',
            })
            .option('out-dir', { coerce: lastValue, type: 'string', describe: 'write <instance>-<UTC time>.tar here' })
            .option('keep', {
              coerce: lastValue,
              type: 'number',
              describe: 'with --out-dir: keep the N newest archives of this instance, delete older ones',
            })
            .example(
              '$0 backup --instance default --out /media/backup/rekor.tar --with ./pg-hook.sh',
              "one archive, with the application's PostgreSQL dump",
            )
            .example(
              '$0 backup --instance default --out-dir /var/backups/rekor-airgap/default --keep 14',
              'what the timer runs',
            )
            .epilogue(
              'The archive is a plain tar: backup.json lists every file with its SHA-256; secrets.tar.age opens with `age -d` and the passphrase.',
            ),
        ) as unknown as Argv;
      },
      handler: async (raw: unknown) => {
        const args = raw as Args;
        const { backupInstance } = await import('../../backup/backup.js');
        const r = await backupInstance({
          engine: await engineForCommand(),
          instance: args.instance,
          hooks: args.with,
          timeoutSec: args.timeout,
          progress: progressFor(args),
          ...(args.dataDir ? { dataDir: args.dataDir } : {}),
          ...(args.out ? { out: args.out } : {}),
          ...(args.outDir ? { outDir: args.outDir } : {}),
          ...(args.keep !== undefined ? { keep: args.keep } : {}),
          ...(args.passphraseFile ? { passphraseFile: args.passphraseFile } : {}),
        });
        printResult(
          args,
          r,
          [
            `backup of ${args.instance} written: ${r.file}`,
            `  ${r.bytes} bytes, ${r.files} files + ${r.secrets} sealed secrets${r.hooks.length ? `, hooks: ${r.hooks.join(', ')}` : ''}`,
            r.checkpoint
              ? `  checkpoint: tree size ${r.checkpoint.size}, root ${r.checkpoint.rootHex}`
              : `  witness cosigned: ${r.witnessed?.map((w) => `${w.origin} ${w.size}`).join(', ') || 'nothing yet'}`,
            `  writes paused ${r.pausedSeconds.toFixed(1)} s; ${r.seconds.toFixed(1)} s in all`,
            ...r.removed.map((f) => `  removed (retention): ${f}`),
          ].join('\n'),
        );
      },
    },
    opts,
  );
}

interface RestoreArgs extends CommonArgs {
  file: string;
  instance: string;
  dataDir?: string;
  port?: number;
  passphraseFile?: string;
  with: string[];
  forceFork: boolean;
  forceRollback: boolean;
  bundle?: string;
  trust: string[];
  timeout: number;
}

export const restoreCommand = {
  command: 'restore <file>',
  describe:
    'restore a backup into a fresh instance or over the existing one, then prove it: same checkpoint, tree re-derived, new entries consistent',
  builder: (y) =>
    typed<RestoreArgs>(
      withBackupCommon(y)
        .positional('file', { type: 'string', demandOption: true, describe: 'backup archive' })
        .option('port', {
          coerce: lastValue,
          type: 'number',
          describe: "HTTPS port of the restored instance (default: the backup's)",
        })
        .option('force-fork', {
          type: 'boolean',
          default: false,
          describe: 'restore a tree smaller than one the log has published (clients will see a fork)',
        })
        .option('force-rollback', {
          type: 'boolean',
          default: false,
          describe:
            'restore a witness whose live database has cosigned more than the backup holds (it forgets those checkpoints and cosigns whatever it is shown next)',
        })
        .option('bundle', {
          coerce: lastValue,
          type: 'string',
          describe: 'load the images from this bundle first (a host that never ran the instance)',
        })
        .option('trust', {
          type: 'string',
          array: true,
          default: [] as string[],
          describe: 'public key trusted to sign --bundle (repeatable)',
        })
        .example(
          '$0 restore /media/backup/rekor.tar --instance default',
          'over the existing instance (refuses to fork the log)',
        )
        .example(
          '$0 restore rekor.tar --instance default --bundle ./bundle --trust bundle-signing.pub',
          'disaster recovery on a new host',
        ),
    ),
  handler: async (args) => {
    const { restoreInstance } = await import('../../backup/restore.js');
    const r = await restoreInstance({
      engine: await engineForCommand(),
      file: args.file,
      instance: args.instance,
      hooks: args.with,
      forceFork: args.forceFork,
      forceRollback: args.forceRollback,
      trust: args.trust,
      timeoutSec: args.timeout,
      progress: progressFor(args),
      ...(args.dataDir ? { dataDir: args.dataDir } : {}),
      ...(args.port ? { port: args.port } : {}),
      ...(args.passphraseFile ? { passphraseFile: args.passphraseFile } : {}),
      ...(args.bundle ? { bundleDir: args.bundle } : {}),
    });
    printResult(
      args,
      r,
      [
        `restored ${args.file} into instance ${r.instance} (${r.dataDir}) at ${r.url}${r.forked ? ' — FORKED (--force-fork)' : ''}`,
        `  backup of ${r.backup.instance} taken ${r.backup.createdAt}: tree size ${r.backup.size}`,
        `  served checkpoint equals the backup's: size ${r.served?.size}, root ${r.served?.rootHex}`,
        ...(r.audit ? [`  ${r.audit}`] : []),
        ...(r.after ? [`  new entries: size ${r.after.size}, consistent with the backup's checkpoint`] : []),
        ...(r.hooks.length ? [`  hooks restored: ${r.hooks.join(', ')}`] : []),
      ].join('\n'),
    );
  },
} satisfies CommandModule<object, RestoreArgs>;
