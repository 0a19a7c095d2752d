/**
 * `rekor-airgap backup`: pause writes, copy the instance (the log's files or a dump of its
 * database, keys, TLS, configuration, state, checkpoint history) into one archive with the
 * checkpoint current at that moment, the secrets sealed with a passphrase; resume writes; keep the
 * newest N archives of a directory. The rendered backup.sh and the backup timer run exactly this.
 */
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { AirgapError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { waitHealthy } from '../engine/wait-healthy.js';
import { readHistory, recordCheckpoint } from '../instance/checkpoint-history.js';
import { instancePaths, type InstancePaths } from '../instance/layout.js';
import { logTargetOf } from '../instance/log-target.js';
import { observeLog } from '../stacks/observe.js';
import { requireState, type InstanceState } from '../instance/state.js';
import type { LogHead } from '../rekor/log-head.js';
import { stackFor } from '../stacks/registry.js';
import type { BackupContext, Stack } from '../stacks/stack.js';
import { TEMP_PREFIX } from '../util/atomic-file.js';
import { onInterrupt } from '../util/interrupt.js';
import type { Progress } from '../util/progress.js';
import { TOOL_VERSION } from '../util/package-root.js';
import { BackupArchiveWriter } from './archive.js';
import {
  BACKUP_FORMAT,
  BACKUP_MANIFEST,
  BACKUP_SECRETS,
  type BackupDir,
  type BackupManifest,
} from './backup-manifest.js';
import { hookArchivePath, resolveHooks, runHook, type Hook } from './hooks.js';
import { readBackupPassphrase } from './passphrase.js';
import { SCRYPT_LOG_N, type SecretFile } from './secrets-envelope.js';

export interface BackupOptions {
  /** The container engine this command works with (opened once, at the command's edge). */
  engine: Engine;
  instance: string;
  dataDir?: string;
  out?: string;
  outDir?: string;
  keep?: number;
  passphraseFile?: string;
  hooks: string[];
  timeoutSec: number;
  progress: Progress;
}

export interface BackupResult {
  file: string;
  bytes: number;
  files: number;
  secrets: number;
  /** The log's checkpoint in the archive (a log); what the witness had cosigned (a witness). */
  checkpoint?: { size: number; rootHex: string };
  witnessed?: Array<{ origin: string; size: number }>;
  pausedSeconds: number;
  seconds: number;
  hooks: string[];
  removed: string[];
}

/**
 * Paths of an instance the walk leaves out: the tool copy and leftovers of writes never go into a
 * backup; `checkpoints/` goes in separately, as the history the archive carries.
 */
function skipAlways(p: InstancePaths, rel: string): boolean {
  const top = rel.split('/')[0]!;
  return (
    [p.tool, p.checkpoints].some((d) => path.relative(p.dataDir, d) === top) ||
    path.basename(rel).startsWith(TEMP_PREFIX)
  );
}

export function isSecretPath(p: InstancePaths, rel: string): boolean {
  const full = path.join(p.dataDir, rel);
  return full.startsWith(p.secrets + path.sep) || full === p.serverKey;
}

interface Walked {
  files: Array<{ rel: string; st: Stats }>;
  dirs: BackupDir[];
}

async function walkInstance(p: InstancePaths, excluded: readonly string[]): Promise<Walked> {
  const out: Walked = { files: [], dirs: [] };
  const walk = async (rel: string): Promise<void> => {
    const entries = await fsp.readdir(path.join(p.dataDir, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (skipAlways(p, r) || excluded.includes(r)) continue;
      const st = await fsp.lstat(path.join(p.dataDir, r));
      if (st.isDirectory()) {
        out.dirs.push({ path: r, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
        await walk(r);
      } else if (st.isFile()) {
        out.files.push({ rel: r, st });
      } else {
        throw new AirgapError(
          'BACKUP_FAILED',
          `${path.join(p.dataDir, r)} is not a regular file or directory; the instance directory holds only files`,
        );
      }
    }
  };
  await walk('');
  return out;
}

function archiveName(instance: string, at: Date): string {
  return `${instance}-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}.tar`;
}

/** Archives of this instance in a backup directory, oldest first. */
export async function listArchives(dir: string, instance: string): Promise<string[]> {
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const re = new RegExp(`^${instance}-\\d{8}T\\d{6}Z\\.tar$`);
  return names
    .filter((n) => re.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}

async function resolveOut(o: BackupOptions, at: Date): Promise<string> {
  if (o.out && o.outDir) throw new AirgapError('USAGE_INVALID', 'pass --out FILE or --out-dir DIR, not both');
  if (!o.out && !o.outDir)
    throw new AirgapError(
      'USAGE_INVALID',
      'pass --out FILE (one archive) or --out-dir DIR (dated archives, with --keep N)',
    );
  if (o.keep !== undefined && !o.outDir) throw new AirgapError('USAGE_INVALID', '--keep needs --out-dir');
  let out: string;
  if (o.outDir) {
    await fsp.mkdir(o.outDir, { recursive: true, mode: 0o700 });
    out = path.join(path.resolve(o.outDir), archiveName(o.instance, at));
  } else {
    out = path.resolve(o.out!);
    await fsp.mkdir(path.dirname(out), { recursive: true, mode: 0o700 });
  }
  if (
    await fsp.lstat(out).then(
      () => true,
      () => false,
    )
  )
    throw new AirgapError('USAGE_OUT_EXISTS', `${out} already exists; refusing to overwrite a backup`);
  return out;
}

/** One backup under way: what is read and resolved before the log is paused. */
interface BackupRun {
  o: BackupOptions;
  /** The instance's stack: the services a backup pauses, its dumps, how its checkpoint is read. */
  stack: Stack;
  /** Seals the secrets and the digest of backup.json. */
  passphrase: string;
  /** The hooks whose output goes into the archive. */
  hooks: Hook[];
  /** The archive to write. */
  out: string;
  /** What the stack's backup steps work with: the engine, the compose project, paths, state, log. */
  ctx: BackupContext;
}

/** What the pause produced. */
interface PausedBackup {
  /** The paused log's checkpoint: the one the archive holds (a log). */
  head?: LogHead;
  /** What the paused witness had cosigned, per log (a witness). */
  witnessed?: Array<{ origin: string; size: number }>;
  /** How many secret files were sealed. */
  secrets: number;
  /** How long writes were stopped. */
  pausedMs: number;
}

export async function backupInstance(o: BackupOptions): Promise<BackupResult> {
  const started = Date.now();
  const run = await prepareBackup(o);
  const { state, paths: p, target } = run.ctx;

  // The log must be healthy and consistent with its history before its state is saved.
  o.progress.step(`checking instance ${state.instance} before the backup`);
  if (run.stack.serves === 'log') await observeLog(state, run.stack, target);
  else await run.stack.witnessedSizes(state.dataDir);

  const staging = await fsp.mkdtemp(path.join(path.dirname(run.out), '.rekor-airgap-backup-'));
  const writer = await BackupArchiveWriter.open(run.out);
  let paused: PausedBackup | undefined;
  try {
    paused = await pauseAndWrite(run, writer, staging);
  } catch (e) {
    await writer.abort();
    throw e;
  } finally {
    await fsp.rm(staging, { recursive: true, force: true });
  }
  if (!paused) throw new AirgapError('INTERNAL_BUG', 'the backup ended without a checkpoint');
  const { head, witnessed } = paused;
  // The paused checkpoint joins the history (the log's own proof, now that it is reachable again).
  const { stack } = run;
  if (head && stack.serves === 'log')
    await recordCheckpoint(p.checkpoints, head, (from, to) => stack.proveConsistency(target, from, to));
  const removed = o.outDir && o.keep !== undefined ? await prune(o.outDir, state.instance, o.keep, run.out) : [];
  o.progress.step(`backup written to ${run.out} (${writer.bytes} bytes)`);
  return {
    file: run.out,
    bytes: writer.bytes,
    files: writer.files.length,
    secrets: paused.secrets,
    ...(head ? { checkpoint: { size: head.size, rootHex: head.rootHex } } : {}),
    ...(witnessed ? { witnessed } : {}),
    pausedSeconds: paused.pausedMs / 1000,
    seconds: (Date.now() - started) / 1000,
    hooks: run.hooks.map((h) => h.name),
    removed,
  };
}

/** The instance, its stack, the passphrase, the hooks and where the archive goes: all before anything stops. */
async function prepareBackup(o: BackupOptions): Promise<BackupRun> {
  const state = await requireState(o.instance, o.dataDir);
  const p = instancePaths(state.dataDir);
  const stack = stackFor(state.kind);
  const passphrase = await readBackupPassphrase(o.passphraseFile, p.backupPassphrase);
  const hooks = await resolveHooks(o.hooks);
  const out = await resolveOut(o, new Date());
  const target = await logTargetOf(state, { witnesses: false });
  const ctx: BackupContext = {
    engine: o.engine,
    project: o.engine.project(state.project, p.compose),
    paths: p,
    state,
    target,
    timeoutMs: o.timeoutSec * 1000,
    progress: o.progress,
  };
  return { o, stack, passphrase, hooks, out, ctx };
}

/**
 * Stops the stack's writers and writes the archive while they are stopped; then, whatever happened,
 * starts them again (an interrupt does too) and waits until they are healthy.
 */
async function pauseAndWrite(run: BackupRun, writer: BackupArchiveWriter, staging: string): Promise<PausedBackup> {
  const { o, stack, ctx } = run;
  o.progress.step(`pausing writes (stopping ${stack.backup.pauseServices.join(', ')})`);
  const pausedAt = Date.now();
  const resume = () => ctx.project.start(stack.backup.pauseServices);
  const undo = onInterrupt(
    `resuming writes of ${ctx.state.instance} (starting ${stack.backup.pauseServices.join(', ')})`,
    resume,
  );
  await ctx.project.stop(stack.backup.pauseServices);
  let written: Omit<PausedBackup, 'pausedMs'>;
  let pausedMs: number;
  try {
    written = await writeWhilePaused(run, writer, staging);
  } finally {
    o.progress.step(`resuming writes (starting ${stack.backup.pauseServices.join(', ')})`);
    await resume();
    undo();
    pausedMs = Date.now() - pausedAt;
    await waitHealthy(o.engine.docker, ctx.state.project, [...stack.backup.pauseServices], ctx.timeoutMs, o.progress);
  }
  return { ...written, pausedMs };
}

/** The paused log's checkpoint, then its dumps and the hooks' outputs, then the archive. */
async function writeWhilePaused(
  { o, stack, hooks, passphrase, ctx }: BackupRun,
  writer: BackupArchiveWriter,
  staging: string,
): Promise<Omit<PausedBackup, 'pausedMs'>> {
  const paused = await pausedState(ctx, stack);
  o.progress.step(
    paused.head
      ? `log paused at tree size ${paused.head.size}`
      : `witness paused: ${paused.witnessed?.map((w) => `${w.origin} ${w.size}`).join(', ') || 'nothing cosigned yet'}`,
  );
  const extra = await takeDumpsAndHooks(ctx, stack, hooks, staging, o);
  const result = await writeArchive(writer, {
    state: ctx.state,
    paths: ctx.paths,
    stack,
    ...paused,
    extra,
    passphrase,
    progress: o.progress,
  });
  return { ...paused, secrets: result.secrets };
}

/** A paused log's checkpoint, or what a paused witness has cosigned (read from its stopped database). */
async function pausedState(ctx: BackupContext, stack: Stack): Promise<Pick<PausedBackup, 'head' | 'witnessed'>> {
  if (stack.serves === 'witness') {
    const sizes = await stack.witnessedSizes(ctx.paths.dataDir);
    return { witnessed: [...sizes].map(([origin, size]) => ({ origin, size })) };
  }
  return { head: await (stack.backup.pausedHead ? stack.backup.pausedHead(ctx) : stack.readHead(ctx.target)) };
}

export interface Extra {
  dumps: Array<{ name: string; file: string }>;
  hooks: Array<{ name: string; file: string }>;
}

async function takeDumpsAndHooks(
  ctx: BackupContext,
  stack: Stack,
  hooks: Hook[],
  staging: string,
  o: BackupOptions,
): Promise<Extra> {
  const extra: Extra = { dumps: [], hooks: [] };
  for (const d of stack.backup.dumps) {
    o.progress.step(`dumping ${d.name} (service ${d.service})`);
    const file = path.join(staging, `dump-${d.name}`);
    await d.dump(ctx, file);
    extra.dumps.push({ name: d.name, file });
  }
  for (const h of hooks) {
    o.progress.step(`running hook ${h.file} backup`);
    const file = path.join(staging, `hook-${h.name}`);
    await runHook(h, 'backup', { stdoutFile: file }, ctx.state.instance, ctx.timeoutMs * 20);
    extra.hooks.push({ name: h.name, file });
  }
  return extra;
}

/** What `writeArchive` puts into a backup archive. */
export interface ArchiveContents {
  /** The instance's state: its name, profile, origin and log key ID go into backup.json. */
  state: InstanceState;
  /** The instance's paths: its files are copied from its data directory. */
  paths: InstancePaths;
  /** The instance's stack: what it excludes from a backup, and its kind. */
  stack: Stack;
  /** The checkpoint of the paused log (a log). */
  head?: LogHead;
  /** What the paused witness had cosigned (a witness). */
  witnessed?: Array<{ origin: string; size: number }>;
  /** The database dumps and hook outputs, staged for the archive. */
  extra: Extra;
  /** Seals the secrets and the digest of backup.json. */
  passphrase: string;
  progress: Progress;
  /** The scrypt work factor of the seal (default SCRYPT_LOG_N; the tests pass a lower one). */
  scryptLogN?: number;
}

/**
 * Writes the instance into `w` (files, dumps, hook outputs, checkpoint history), then the sealed
 * secrets and backup.json. Exported for the tests, which seal with a lower scrypt work factor.
 */
export async function writeArchive(w: BackupArchiveWriter, c: ArchiveContents): Promise<{ secrets: number }> {
  const { state, paths: p, stack, head, witnessed, extra, passphrase, progress, scryptLogN = SCRYPT_LOG_N } = c;
  const excluded = stack.backup.exclude;
  const walked = await walkInstance(p, excluded);
  const secrets: SecretFile[] = [];
  const total = walked.files.reduce((a, f) => a + (isSecretPath(p, f.rel) ? 0 : f.st.size), 0);
  progress.startBytes('copying the instance', total);
  for (const f of walked.files) {
    const full = path.join(p.dataDir, f.rel);
    if (isSecretPath(p, f.rel)) {
      secrets.push({
        path: f.rel,
        bytes: await fsp.readFile(full),
        mode: f.st.mode & 0o7777,
        uid: f.st.uid,
        gid: f.st.gid,
      });
      continue;
    }
    await w.addFile(`data/${f.rel}`, full, f.st);
    progress.addBytes(f.st.size);
  }
  progress.endBytes();
  const root = { mode: 0o600, uid: 0, gid: 0 };
  const dumps: BackupManifest['dumps'] = [];
  for (const d of extra.dumps) {
    await w.addFile(`dump/${d.name}`, d.file, await fsp.stat(d.file));
    dumps.push({ name: d.name, path: `dump/${d.name}` });
  }
  const hooks: BackupManifest['hooks'] = [];
  for (const h of extra.hooks) {
    await w.addFile(hookArchivePath(h.name), h.file, await fsp.stat(h.file));
    hooks.push({ name: h.name, path: hookArchivePath(h.name) });
  }
  for (const k of await readHistory(p.checkpoints)) {
    await w.addBytes(`checkpoints/${path.basename(k.file)}`, Buffer.from(k.checkpoint), { ...root, mode: 0o644 });
  }
  // Normalise the owner of every file written by the tool itself.
  for (const f of w.files) if (!f.path.startsWith('data/')) Object.assign(f, { uid: root.uid, gid: root.gid });
  progress.step(
    `sealing ${secrets.length} secret files and the digest of ${BACKUP_MANIFEST} with the passphrase (age, scrypt)`,
  );
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    createdAt: new Date().toISOString(),
    tool: TOOL_VERSION,
    instance: state.instance,
    profile: state.profile,
    kind: stack.kind as BackupManifest['kind'],
    origin: state.origin,
    logKeyId: state.logKeyId,
    ...(head ? { checkpoint: { size: head.size, rootHex: head.rootHex, note: head.checkpoint } } : {}),
    ...(witnessed ? { witnessed } : {}),
    files: w.files,
    dirs: walked.dirs,
    secrets: { path: BACKUP_SECRETS, files: secrets.length },
    hooks,
    dumps,
  };
  await w.seal(manifest, secrets, passphrase, scryptLogN);
  return { secrets: secrets.length };
}

async function prune(dir: string, instance: string, keep: number, justWritten: string): Promise<string[]> {
  if (!Number.isSafeInteger(keep) || keep < 1)
    throw new AirgapError('USAGE_INVALID', '--keep must be a whole number of at least 1');
  const all = await listArchives(dir, instance);
  const old = all.filter((f) => f !== justWritten).slice(0, Math.max(0, all.length - keep));
  for (const f of old) await fsp.rm(f, { force: true });
  return old;
}
