/**
 * `rekor-airgap restore`: into a fresh instance (another host, disaster recovery, a drill) or over
 * the existing one. Verify the whole archive and open its secrets → refuse a fork → put the files
 * in place → load the database dumps → start → prove: the served checkpoint is the backup's, the
 * published tree re-derives its root, and after a new entry the log is consistent with it. Until
 * the proof holds nothing is final: a failure puts the previous instance back and starts it.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirgapError } from '../errors.js';
import { loadTrustedKeys } from '../bundle/signing.js';
import { verifyBundleDir } from '../bundle/verify-dir.js';
import { verifyCarriedProvenance } from '../bundle/provenance.js';
import { imageId } from '../engine/docker.js';
import type { Engine } from '../engine/engine.js';
import { readHistory, largest, type KeptCheckpoint } from '../instance/checkpoint-history.js';
import {
  composeProject,
  dataDirFor,
  instancePaths,
  validateInstanceName,
  type InstancePaths,
} from '../instance/layout.js';
import { logTargetOf } from '../instance/log-target.js';
import { observeLog } from '../stacks/observe.js';
import { readState, writeState, type InstanceState } from '../instance/state.js';
import { ensureTool, installToolFromBundle } from '../instance/tool.js';
import { keptDeployContext } from '../deploy/redeploy.js';
import { configureInstance, startStack } from '../deploy/deploy.js';
import { loadProfileImages } from '../deploy/load-images.js';
import type { LogHead } from '../rekor/log-head.js';
import type { LogTarget } from '../rekor/target.js';
import { smokeFailure } from '../rekor/smoke.js';
import { stackFor } from '../stacks/registry.js';
import type { BackupContext, Stack, WitnessStack } from '../stacks/stack.js';
import type { Progress } from '../util/progress.js';
import { openBackupArchive, type OpenedArchive } from './archive.js';
import type { BackupManifest } from './backup-manifest.js';
import { hookArchivePath, resolveHooks, runHook, type Hook } from './hooks.js';
import { readBackupPassphrase } from './passphrase.js';
import { stageInstance, swapIn } from './restore-stage.js';

export interface RestoreOptions {
  /** The container engine this command works with (opened once, at the command's edge). */
  engine: Engine;
  file: string;
  instance: string;
  dataDir?: string;
  /** HTTPS port of the restored instance (default: the backup's). */
  port?: number;
  passphraseFile?: string;
  hooks: string[];
  forceFork: boolean;
  /** Restore a witness whose live database has cosigned more than the backup holds (it forgets). */
  forceRollback?: boolean;
  /** Load the images from this verified bundle (a host that never ran the instance). */
  bundleDir?: string;
  trust: string[];
  /** Only verify the archive and open its secrets; change nothing. */
  verifyOnly?: boolean;
  /**
   * Prove with a new entry (default). Off for a scratch copy that runs beside the live log: new
   * entries there would be checkpoints signed with the live key that the live log never signed.
   */
  write?: boolean;
  timeoutSec: number;
  progress: Progress;
}

export interface RestoreResult {
  instance: string;
  dataDir: string;
  url: string;
  verifyOnly: boolean;
  backup: { createdAt: string; instance: string; size: number; rootHex: string; bytes: number; files: number };
  served?: { size: number; rootHex: string };
  audit?: string;
  after?: { size: number; rootHex: string };
  forked: boolean;
  replaced: boolean;
  hooks: string[];
  seconds: number;
}

export function forkWarning(liveTop: LogHead, backupSize: number): string {
  return (
    `the log has published a checkpoint of size ${liveTop.size}; this backup holds only ${backupSize} entries. ` +
    `Restoring it FORKS the log: entries ${backupSize}..${liveTop.size - 1} are gone, new entries will get those indexes again, ` +
    'and every client that saw the larger checkpoint (monitors, witnesses, the transparency.checkpoint records of your application) ' +
    'will see a log that is not consistent with what it signed before — their checks fail and they must be told to trust the restored log anew.'
  );
}

export async function restoreInstance(o: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  validateInstanceName(o.instance);
  const dataDir = dataDirFor(o.instance, o.dataDir);
  const paths = instancePaths(dataDir);
  const passphrase = await readBackupPassphrase(o.passphraseFile, paths.backupPassphrase);
  const hooks = await resolveHooks(o.hooks);
  if (!o.verifyOnly) await fsp.mkdir(path.dirname(dataDir), { recursive: true, mode: 0o755 });
  const staging = o.verifyOnly ? '' : await fsp.mkdtemp(`${dataDir}.restore-`);
  let done = false;
  try {
    o.progress.step(`verifying ${o.file}`);
    // The passphrase vouches for backup.json before anything in the archive is used.
    const archive = await openBackupArchive(o.file, passphrase, o.verifyOnly ? undefined : staging);
    const m = archive.manifest;
    const stack = stackFor(m.kind);
    const summary = reportVerified(o.progress, archive);
    if (o.verifyOnly) {
      done = true;
      return {
        instance: o.instance,
        dataDir,
        url: '',
        verifyOnly: true,
        backup: summary,
        forked: false,
        replaced: false,
        hooks: [],
        seconds: (Date.now() - started) / 1000,
      };
    }
    const run = await planRestore({ o, m, stack, paths, staging, hooks });
    await ensureImages(run);
    const replaced = await stageAndSwapIn(run, archive.secrets);
    const result = await bringUpOrPutBack(run, replaced);
    done = true;
    return {
      instance: o.instance,
      dataDir,
      url: run.state.url,
      verifyOnly: false,
      backup: summary,
      ...result,
      forked: run.forked,
      replaced: !!replaced,
      hooks: hooks.map((h) => h.name),
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    if (staging) await fsp.rm(staging, { recursive: true, force: true });
    if (!done) o.progress.step('restore did not complete');
  }
}

/** One restore under way: what every step after the archive's verification works with. */
interface RestoreRun {
  o: RestoreOptions;
  m: BackupManifest;
  stack: Stack;
  /** The restored instance's state (the backup's, under this instance's name, port and directory). */
  state: InstanceState;
  paths: InstancePaths;
  /** Where the archive was unpacked (dumps, hook outputs). */
  staging: string;
  hooks: Hook[];
  /** The instance being replaced, if any. */
  existing: InstanceState | undefined;
  /** The restore takes the log below a checkpoint it published (allowed by --force-fork). */
  forked: boolean;
}

/** What a restore knows once the archive is verified, before it looks at the instance it replaces. */
type VerifiedRestore = Pick<RestoreRun, 'o' | 'm' | 'stack' | 'paths' | 'staging' | 'hooks'>;

/** Says what the verified archive holds; its summary goes into the result. */
function reportVerified(progress: Progress, archive: OpenedArchive): RestoreResult['backup'] {
  const m = archive.manifest;
  const held = m.checkpoint
    ? `tree size ${m.checkpoint.size}`
    : `witness state (${m.witnessed?.map((w) => `${w.origin} ${w.size}`).join(', ') || 'nothing cosigned'})`;
  progress.step(
    `archive verified (backup.json and every file vouched for by the passphrase): instance ${m.instance} (${m.profile}), ${held}, ${m.files.length} files, ${archive.secrets.length} secrets`,
  );
  return {
    createdAt: m.createdAt,
    instance: m.instance,
    size: m.checkpoint?.size ?? 0,
    rootHex: m.checkpoint?.rootHex ?? '',
    bytes: archive.bytes,
    files: m.files.length,
  };
}

/**
 * The restore's plan: the instance it replaces (which must not fork unless forced) and the restored
 * state — the backup's, under this instance's name, directory and port.
 */
async function planRestore(v: VerifiedRestore): Promise<RestoreRun> {
  const { o, m, paths, staging } = v;
  const existing = await readState(paths.dataDir);
  const forked = await checkFork(o, m, existing, paths);
  if (v.stack.serves === 'witness') await checkWitnessRollback(v, v.stack, existing);
  const backupState = await readBackupState(o.file, m, staging);
  const state: InstanceState = {
    ...backupState,
    instance: o.instance,
    project: composeProject(o.instance),
    dataDir: paths.dataDir,
    httpsPort: o.port ?? existing?.httpsPort ?? backupState.httpsPort,
    updatedAt: new Date().toISOString(),
  };
  state.url = `https://${state.hostname}:${state.httpsPort}`;
  return { ...v, state, existing, forked };
}

/** The backup's data/state.json: it must agree with backup.json on the log it holds. */
async function readBackupState(file: string, m: BackupManifest, staging: string): Promise<InstanceState> {
  const backupState = await readState(path.join(staging, 'data'), 'BACKUP_ARCHIVE_CORRUPT');
  if (!backupState) throw new AirgapError('BACKUP_ARCHIVE_CORRUPT', `${file} holds no state.json of an instance`);
  for (const k of ['kind', 'profile', 'origin', 'logKeyId'] as const) {
    if (backupState[k] !== m[k])
      throw new AirgapError(
        'BACKUP_ARCHIVE_CORRUPT',
        `${file}: data/state.json says ${k} ${JSON.stringify(backupState[k])}, backup.json ${JSON.stringify(m[k])}`,
      );
  }
  return backupState;
}

/**
 * The archive's files laid out beside the instance (with the tool backup.sh needs), then swapped in
 * for it: the directory of the instance it replaced, if any.
 */
async function stageAndSwapIn(run: RestoreRun, secrets: OpenedArchive['secrets']): Promise<string | undefined> {
  const { o, m, stack, paths, staging, existing, forked } = run;
  const stagedData = await stageInstance({
    manifest: m,
    secrets,
    staging,
    stack,
    what: o.file,
    progress: o.progress,
  });
  const keep = await ensureToolFrom(paths, stagedData);
  if (!keep)
    o.progress.warn(
      `no single-file rekor-airgap to copy into ${paths.tool}: backup.sh and the timer need it (restore with --bundle, or run the bundle's installer)`,
    );
  return swapIn({ engine: o.engine, paths, stagedData, existing, forked, progress: o.progress });
}

/**
 * Starts and proves the restored instance, then keeps the replaced one's history and removes it;
 * on any failure puts the replaced instance back.
 */
async function bringUpOrPutBack(run: RestoreRun, replaced: string | undefined): Promise<BroughtUp> {
  try {
    const result = await bringUp(run);
    if (replaced) await keepReplacedHistory(replaced, run.paths, run.forked);
    if (replaced) await fsp.rm(replaced, { recursive: true, force: true });
    return result;
  } catch (e) {
    await putBack(run, replaced);
    throw e;
  }
}

/** The stack's images: loaded from --bundle when given, and in the engine either way. */
async function ensureImages({ o, m, state, staging }: RestoreRun): Promise<void> {
  if (o.bundleDir) {
    const verified = await verifyBundleDir(o.bundleDir, await loadTrustedKeys(o.trust), o.progress);
    await verifyCarriedProvenance(verified);
    const images = verified.manifest.images.filter((i) => i.profiles.includes(m.profile));
    await loadProfileImages(o.engine.docker, {
      bundleDir: verified.dir,
      manifest: verified.manifest,
      images,
      readVerified: verified.readFile,
      progress: o.progress,
    });
    await installToolFromBundle(instancePaths(path.join(staging, 'data')), verified);
  }
  const missing: string[] = [];
  for (const [name, img] of Object.entries(state.images))
    if (!(await imageId(o.engine.docker, img.ref))) missing.push(`${name} (${img.ref})`);
  if (missing.length) {
    throw new AirgapError(
      'RESTORE_IMAGES_MISSING',
      `the engine lacks the images of ${m.profile}: ${missing.join(', ')}; pass --bundle DIR --trust KEY.pub (the bundle this instance was installed from) to load them`,
    );
  }
}

/** A restore must not take the log below a checkpoint it has already published (unless forced). */
async function checkFork(
  o: RestoreOptions,
  m: BackupManifest,
  existing: InstanceState | undefined,
  paths: InstancePaths,
): Promise<boolean> {
  if (!existing) return false;
  if (existing.logKeyId && existing.logKeyId !== m.logKeyId) {
    throw new AirgapError(
      'RESTORE_FAILED',
      `instance ${o.instance} holds another log (key ID ${existing.logKeyId}, the backup's is ${m.logKeyId}); uninstall it first, or restore under another --instance`,
    );
  }
  const top = largest(await readHistory(paths.checkpoints));
  const cp = m.checkpoint;
  if (!top || !cp) return false;
  const smaller = top.size > cp.size;
  const otherRoot = top.size === cp.size && top.rootHex !== cp.rootHex;
  if (!smaller && !otherRoot) return false;
  const why = otherRoot
    ? `the log has published another root (${top.rootHex}) at the backup's size ${top.size}`
    : forkWarning(top, cp.size);
  if (!o.forceFork) {
    throw new AirgapError(
      'RESTORE_FORK_REFUSED',
      `refusing to restore ${o.file}: ${why} Pass --force-fork only if the published checkpoints are lost for good.`,
    );
  }
  o.progress.warn(`--force-fork: ${why}`);
  return true;
}

/**
 * A witness must never go back: one that forgets what it cosigned cosigns whatever it is shown
 * next for those logs, a fork included. Refused when the live witness (the instance replaced) has
 * cosigned a larger checkpoint of any log than the backup's database holds, unless forced.
 */
async function checkWitnessRollback(
  v: VerifiedRestore,
  stack: WitnessStack,
  existing: InstanceState | undefined,
): Promise<void> {
  const { o, staging } = v;
  if (!existing) return;
  const live = await stack.witnessedSizes(existing.dataDir);
  const backup = await stack.witnessedSizes(path.join(staging, 'data'));
  const behind = [...live]
    .filter(([origin, size]) => size > (backup.get(origin) ?? 0))
    .map(([origin, size]) => `${origin}: cosigned ${size}, the backup holds ${backup.get(origin) ?? 'nothing'}`);
  if (!behind.length) return;
  const why = `the live witness ${existing.instance} has cosigned more than this backup holds (${behind.join('; ')}); restored, it would forget those checkpoints and cosign whatever those logs show it next, a fork included.`;
  if (!o.forceRollback)
    throw new AirgapError(
      'RESTORE_WITNESS_ROLLBACK_REFUSED',
      `refusing to restore ${o.file}: ${why} Pass --force-rollback only if the witness's newer state is lost for good.`,
    );
  o.progress.warn(`--force-rollback: ${why}`);
}

/** The tool for the restored instance: the old instance's, the bundle's, or the running one. */
async function ensureToolFrom(paths: InstancePaths, stagedData: string): Promise<boolean> {
  const staged = instancePaths(stagedData);
  if (
    await fsp.access(staged.toolJs).then(
      () => true,
      () => false,
    )
  )
    return true;
  if (
    await fsp.access(paths.toolJs).then(
      () => true,
      () => false,
    )
  ) {
    await fsp.cp(paths.tool, staged.tool, { recursive: true, preserveTimestamps: true });
    return true;
  }
  return ensureTool(staged);
}

interface BroughtUp {
  served?: { size: number; rootHex: string };
  audit?: string;
  after?: { size: number; rootHex: string };
}

async function bringUp(run: RestoreRun): Promise<BroughtUp> {
  const { o, m, stack, state, paths } = run;
  await writeState(state);
  const d = await keptDeployContext(o.engine, stack, state, o.progress);
  if (!d.templateNames.length)
    throw new AirgapError(
      'RESTORE_FAILED',
      `the backup has no templates/ (taken from an instance installed by an older rekor-airgap); install the bundle again, take a new backup`,
    );
  o.progress.step(`configuring instance ${state.instance} in ${paths.dataDir}`);
  const vars = await configureInstance(d);
  const target = await logTargetOf(state, { witnesses: false });
  const ctx: BackupContext = {
    engine: o.engine,
    project: o.engine.project(state.project, paths.compose),
    paths,
    state,
    target,
    timeoutMs: o.timeoutSec * 1000,
    progress: o.progress,
  };
  const dumpServices = [...new Set(stack.backup.dumps.map((x) => x.service))];
  await startStack(d, vars, {
    timeoutMs: ctx.timeoutMs,
    ...(m.dumps.length ? { first: { services: dumpServices, run: () => loadDumps(run, ctx) } } : {}),
  });
  await runRestoreHooks(run);
  return proveRestored(run, target);
}

/** The database dumps, loaded once their services are healthy and before the rest starts. */
async function loadDumps({ o, m, stack, staging }: RestoreRun, ctx: BackupContext): Promise<void> {
  for (const dump of stack.backup.dumps) {
    const entry = m.dumps.find((x) => x.name === dump.name);
    if (!entry) throw new AirgapError('BACKUP_ARCHIVE_CORRUPT', `the backup has no dump ${dump.name}`);
    o.progress.step(`loading ${dump.name} into ${dump.service}`);
    await dump.restore(ctx, path.join(staging, entry.path));
  }
}

async function runRestoreHooks({ o, m, state, staging, hooks }: RestoreRun): Promise<void> {
  for (const h of hooks) {
    const entry = m.hooks.find((x) => x.name === h.name);
    if (!entry)
      throw new AirgapError(
        'BACKUP_HOOK_FAILED',
        `the backup holds no output of a hook named ${h.name} (it has: ${m.hooks.map((x) => x.name).join(', ') || 'none'})`,
      );
    o.progress.step(`running hook ${h.file} restore`);
    await runHook(
      h,
      'restore',
      { stdinFile: path.join(staging, hookArchivePath(h.name)) },
      state.instance,
      o.timeoutSec * 1000 * 20,
    );
  }
  for (const x of m.hooks)
    if (!hooks.some((h) => h.name === x.name))
      o.progress.warn(`the backup holds the output of hook ${x.name}; pass --with HOOK to restore it`);
}

/** The served checkpoint is the backup's, the tree re-derives it, and (unless read-only) new entries extend it. */
async function proveRestored({ o, m, stack, state }: RestoreRun, target: LogTarget): Promise<BroughtUp> {
  if (stack.serves === 'witness') {
    o.progress.step('proving the restored witness');
    if (o.write !== false) {
      const failure = smokeFailure(await stack.smoke(state));
      if (failure) throw failure;
    }
    return {};
  }
  o.progress.step('proving the restored log');
  const served = await stack.readHead(target);
  const cp = m.checkpoint;
  if (!cp) throw new AirgapError('BACKUP_ARCHIVE_CORRUPT', `the backup of log ${m.instance} holds no checkpoint`);
  if (served.size !== cp.size || served.rootHex !== cp.rootHex) {
    throw new AirgapError(
      'RESTORE_MISMATCH',
      `the restored log serves size ${served.size}, root ${served.rootHex}; the backup's checkpoint is size ${cp.size}, root ${cp.rootHex}`,
    );
  }
  const audit = stack.auditTree ? await stack.auditTree(target, served) : undefined;
  if (audit) o.progress.step(`  ${audit}`);
  // A shard rotated out takes no entries: proved by reads, and by a write refused.
  if (state.readOnlySince && stack.readOnlySwitch)
    o.progress.step(`  read-only: ${await stack.readOnlySwitch.writesRefused(target)}`);
  if (o.write === false || state.readOnlySince) {
    await observeLog(state, stack, target);
    return { served: { size: served.size, rootHex: served.rootHex }, ...(audit ? { audit } : {}) };
  }
  const report = await stack.smoke(target);
  const failure = smokeFailure(report);
  if (failure) throw failure;
  const seen = await observeLog(state, stack, target);
  // Explicitly from the backup's checkpoint too (the history's largest may be it already).
  await stack.proveConsistency(target, { size: cp.size, rootHex: cp.rootHex, checkpoint: cp.note }, seen.head);
  o.progress.step(`  new entries added: size ${cp.size} → ${seen.head.size}, consistent with the backup's checkpoint`);
  return {
    served: { size: served.size, rootHex: served.rootHex },
    ...(audit ? { audit } : {}),
    after: { size: seen.head.size, rootHex: seen.head.rootHex },
  };
}

/**
 * The replaced instance's checkpoint history, kept for the record out of the way of the new one:
 * in `checkpoints/abandoned-<time>/` after a forced fork, `checkpoints/replaced-<time>/` otherwise.
 */
async function keepReplacedHistory(replaced: string, paths: InstancePaths, forked: boolean): Promise<void> {
  const old: KeptCheckpoint[] = await readHistory(instancePaths(replaced).checkpoints).catch(() => []);
  if (!old.length) return;
  const dir = path.join(
    paths.checkpoints,
    `${forked ? 'abandoned' : 'replaced'}-${new Date().toISOString().replace(/[-:.]/g, '')}`,
  );
  await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
  for (const k of old) await fsp.copyFile(k.file, path.join(dir, path.basename(k.file)));
}

async function putBack({ o, paths, state, existing }: RestoreRun, replaced: string | undefined): Promise<void> {
  try {
    o.progress.step(`restore failed: removing what it started (project ${state.project})`);
    // What the failed restore started must stop before its directory goes: a failed stop leaves
    // both directories where they are, and the warning below names them.
    await o.engine.project(state.project, paths.compose).down();
    await fsp.rm(paths.dataDir, { recursive: true, force: true });
    if (replaced) {
      await fsp.rename(replaced, paths.dataDir);
      if (existing) {
        o.progress.step(`putting instance ${existing.instance} back as it was`);
        await o.engine.project(existing.project, instancePaths(existing.dataDir).compose).up();
      }
    }
  } catch (e) {
    o.progress.warn(
      `putting the previous instance back did not finish: ${(e as Error).message}${replaced ? ` (its files are in ${replaced})` : ''}`,
    );
  }
}
