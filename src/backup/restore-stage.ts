/**
 * The restore's file work: lay the verified archive out as an instance in the staging directory
 * (owners, modes, directories, secrets, checkpoint history), then swap it in for the instance
 * directory. Whatever the archive says, nothing is restored more permissive than an install makes
 * it: no group or other write, no setuid, setgid or sticky bit, owners only root and the container
 * users the stack declares, directories only those of the instance layout (and, beneath the
 * directories a stack's services write, what those services made).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirgapError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { checkpointFileName, headOfNote } from '../instance/checkpoint-history.js';
import { instancePaths, type InstancePathName, type InstancePaths } from '../instance/layout.js';
import type { InstanceState } from '../instance/state.js';
import type { Stack } from '../stacks/stack.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import type { Progress } from '../util/progress.js';
import { dataRel } from './archive.js';
import type { BackupManifest } from './backup-manifest.js';
import { isSecretPath } from './backup.js';
import type { SecretFile } from './secrets-envelope.js';

/** The directories of an instance a backup holds (tool/ and checkpoints/ are never copied from its data). */
const LAYOUT_DIRS: readonly InstancePathName[] = [
  'config',
  'initdb',
  'scripts',
  'tls',
  'secrets',
  'log',
  'db',
  'tsa',
  'trust',
  'templates',
  'receipt',
];
/** At most what an install makes: rwxr-xr-x for directories and files, 0711 secrets/, 0600 secret files. */
const DIR_MAX = 0o755;
const SECRETS_DIR_MAX = 0o711;
const FILE_MAX = 0o755;
const SECRET_FILE_MAX = 0o600;

export interface RestorePolicy {
  /** Refuses a directory the instance layout does not have. */
  checkDir(rel: string): void;
  dirMode(rel: string, mode: number): number;
  fileMode(mode: number): number;
  secretMode(mode: number): number;
  /** A uid or gid the stack declares, else root. */
  owner(id: number): number;
  /** How many modes and owners were narrowed. */
  readonly narrowed: number;
}

export function restorePolicy(stack: Stack, what: string): RestorePolicy {
  const p = instancePaths('/');
  const rel = (name: InstancePathName) => path.relative(p.dataDir, p[name]);
  const layout = new Set(LAYOUT_DIRS.map(rel));
  // Beneath the directories its services write (the tiles of v2), a stack's own tree is kept as it was.
  const serviceTrees = stack.directories.map((d) => `${rel(d.path)}/`);
  const owners = new Set([0, stack.secretsOwner, ...stack.directories.map((d) => d.owner ?? 0)]);
  let narrowed = 0;
  const clamp = (mode: number, max: number) => {
    const m = mode & max;
    if (m !== mode) narrowed++;
    return m;
  };
  return {
    checkDir(d) {
      if (!layout.has(d) && !serviceTrees.some((t) => d.startsWith(t))) {
        throw new AirgapError(
          'BACKUP_ARCHIVE_CORRUPT',
          `${what}: ${JSON.stringify(d)} is not a directory of a ${stack.kind} instance; refusing to restore it`,
        );
      }
    },
    dirMode: (d, mode) => clamp(mode, d === rel('secrets') ? SECRETS_DIR_MAX : DIR_MAX),
    fileMode: (mode) => clamp(mode, FILE_MAX),
    secretMode: (mode) => clamp(mode, SECRET_FILE_MAX),
    owner(id) {
      if (owners.has(id)) return id;
      narrowed++;
      return 0;
    },
    get narrowed() {
      return narrowed;
    },
  };
}

const NOTE_NAME = /^checkpoints\/\d{20}-[0-9a-f]{64}\.note$/;

/** A backup archive opened into a staging directory, to be laid out as an instance. */
export interface StagedArchive {
  /** The archive's backup.json, verified. */
  manifest: BackupManifest;
  /** The secret files, unsealed from the archive. */
  secrets: readonly SecretFile[];
  /** Where the archive reader wrote the archive's files (data/ and checkpoints/). */
  staging: string;
  /** The stack of the instance: the owners and directories it declares. */
  stack: Stack;
  /** The archive, for messages. */
  what: string;
  progress: Progress;
}

/**
 * Lays the archive out in `staging/data` (its files were written there by the archive reader):
 * everything is checked before the first change, then owners and modes (narrowed by the policy),
 * the secrets, and the checkpoint history (the archive's, and the backup's own checkpoint).
 */
export async function stageInstance(a: StagedArchive): Promise<string> {
  const { manifest: m, secrets: secretFiles, staging, stack, what, progress } = a;
  const policy = restorePolicy(stack, what);
  const corrupt = (why: string) => new AirgapError('BACKUP_ARCHIVE_CORRUPT', `${what}: ${why}`);
  const stagedData = path.join(staging, 'data');
  const sp = instancePaths(stagedData);
  for (const d of m.dirs) policy.checkDir(d.path);
  const dataFiles = m.files.flatMap((f) => {
    const rel = dataRel(f.path);
    return rel ? [{ ...f, rel }] : [];
  });
  for (const f of dataFiles) {
    const parent = path.posix.dirname(f.rel);
    if (parent !== '.') policy.checkDir(parent);
    if (isSecretPath(sp, f.rel)) throw corrupt(`${f.path} is a secret file outside the sealed part`);
  }
  for (const s of secretFiles) {
    if (!isSecretPath(sp, s.path))
      throw corrupt(`the sealed part holds ${JSON.stringify(s.path)}, which is not a secret file of an instance`);
  }
  const notes = m.files.filter((x) => x.path.startsWith('checkpoints/'));
  for (const f of notes) {
    if (!NOTE_NAME.test(f.path)) throw corrupt(`${f.path} is not a checkpoint file name`);
    const head = noteHead(await fsp.readFile(path.join(staging, f.path), 'utf8'), f.path, corrupt);
    if (`checkpoints/${checkpointFileName(head)}` !== f.path)
      throw corrupt(`${f.path} holds the checkpoint of size ${head.size}, root ${head.rootHex}`);
  }
  const cp = m.checkpoint;
  const own = cp ? noteHead(cp.note, 'the checkpoint of backup.json', corrupt) : undefined;
  if (cp && own && (own.size !== cp.size || own.rootHex !== cp.rootHex))
    throw corrupt(
      `the checkpoint note is of size ${own.size}, root ${own.rootHex}; backup.json says size ${cp.size}, root ${cp.rootHex}`,
    );

  await fsp.mkdir(stagedData, { recursive: true, mode: 0o755 });
  for (const d of m.dirs) await fsp.mkdir(path.join(stagedData, d.path), { recursive: true, mode: 0o700 });
  for (const f of dataFiles) {
    const full = path.join(stagedData, f.rel);
    await fsp.chmod(full, policy.fileMode(f.mode));
    await fsp.chown(full, policy.owner(f.uid), policy.owner(f.gid));
  }
  for (const s of secretFiles) {
    const full = path.join(stagedData, s.path);
    await fsp.mkdir(path.dirname(full), { recursive: true, mode: SECRETS_DIR_MAX });
    await writeFileAtomic(full, s.bytes, policy.secretMode(s.mode));
    await fsp.chown(full, policy.owner(s.uid), policy.owner(s.gid));
  }
  // Directories last, deepest first: their modes may forbid writing into them.
  for (const d of [...m.dirs].reverse()) {
    const full = path.join(stagedData, d.path);
    await fsp.chmod(full, policy.dirMode(d.path, d.mode));
    await fsp.chown(full, policy.owner(d.uid), policy.owner(d.gid));
  }
  const history = sp.checkpoints;
  await fsp.mkdir(history, { recursive: true, mode: 0o755 });
  for (const f of notes) await fsp.rename(path.join(staging, f.path), path.join(history, path.basename(f.path)));
  // The backup's own checkpoint is part of its history.
  if (cp) await writeFileAtomic(path.join(history, checkpointFileName(cp)), cp.note, 0o644);
  if (policy.narrowed)
    progress.warn(
      `${policy.narrowed} modes or owners in ${what} were wider than an install makes them (group or other write, setuid/setgid/sticky, an owner the stack does not declare): restored as an install would`,
    );
  return stagedData;
}

function noteHead(note: string, what: string, corrupt: (why: string) => AirgapError) {
  try {
    return headOfNote(note);
  } catch (e) {
    throw corrupt(`${what} is not a signed checkpoint: ${(e as Error).message}`);
  }
}

/** What swapping a restored instance into place works with. */
export interface SwapIn {
  engine: Engine;
  paths: InstancePaths;
  /** The restored instance's directory, staged beside its place. */
  stagedData: string;
  /** The instance being replaced, if any. */
  existing: InstanceState | undefined;
  forked: boolean;
  progress: Progress;
}

/**
 * Stops the instance being replaced, moves its directory aside and the staged one in. A failed
 * stop ends the restore before anything is moved (its services are started again). Returns where
 * the previous directory went.
 */
export async function swapIn(s: SwapIn): Promise<string | undefined> {
  const { paths, stagedData, existing, progress, forked } = s;
  const previous = existing ? s.engine.project(existing.project, instancePaths(existing.dataDir).compose) : undefined;
  if (existing && previous) {
    progress.step(
      `stopping instance ${existing.instance} (project ${existing.project}) to replace it${forked ? ' (forced fork)' : ''}`,
    );
    try {
      await previous.down();
    } catch (e) {
      const restarted = await previous.up().then(
        () => 'its services were started again',
        (u: Error) => `starting its services again failed too: ${u.message}`,
      );
      throw new AirgapError(
        'RESTORE_STOP_FAILED',
        `stopping instance ${existing.instance} failed, so it was not replaced: nothing was moved, ${paths.dataDir} is as it was (${restarted}). ${(e as Error).message}`,
        { cause: e },
      );
    }
  }
  let replaced: string | undefined;
  if (
    await fsp.lstat(paths.dataDir).then(
      () => true,
      () => false,
    )
  ) {
    replaced = `${paths.dataDir}.replaced-${Date.now()}`;
    await fsp.rename(paths.dataDir, replaced);
  }
  try {
    await fsp.rename(stagedData, paths.dataDir);
  } catch (e) {
    if (replaced) await fsp.rename(replaced, paths.dataDir);
    await previous?.up().catch(() => undefined);
    throw new AirgapError(
      'RESTORE_FAILED',
      `moving the restored instance into ${paths.dataDir} failed (the previous one is back in place): ${(e as Error).message}`,
      { cause: e },
    );
  }
  return replaced;
}
