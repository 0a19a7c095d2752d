/**
 * `log rotate`: a log's writes move to a new shard. A new instance with its own key and origin is
 * installed from the old one's release (or a newer one); the old one's checkpoint joins its
 * history, it is switched read-only (rekor-tiles --read-only) and proved so; its final
 * checkpoint is recorded; and the two are linked in their states, so the trust files of either
 * list both logs: the old one with the end of its window, the new one as where clients write.
 *
 * Each step is kept before the next begins, under a journal in the old instance's state
 * (`rotation`): a rerun of the same command resumes where a failure stopped, and every failure
 * says so. Nothing here names a stack: the stack says whether it has a read-only switch.
 */
import { promises as fsp } from 'node:fs';
import { AirgapError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { redeployInstance } from '../deploy/redeploy.js';
import { keptTemplateNames } from '../deploy/configure.js';
import { dataDirFor, instancePaths, validateInstanceName } from '../instance/layout.js';
import { logTargetOf } from '../instance/log-target.js';
import { readState, requireState, writeState, type InstanceState, type ShardFacts } from '../instance/state.js';
import { operatorOf, ownTsaChain, shardFactsOf, writeTrustFiles } from '../instance/trust-files.js';
import type { LogHead } from '../rekor/log-head.js';
import { observeLog } from '../stacks/observe.js';
import { logStackFor } from '../stacks/registry.js';
import type { LogStack } from '../stacks/stack.js';
import type { Progress } from '../util/progress.js';
import { installBundle } from './install.js';

export interface RotateOptions {
  engine: Engine;
  /** The instance whose log is rotated out. */
  instance: string;
  dataDir?: string;
  /** The new shard's instance. */
  newInstance: string;
  newDataDir?: string;
  /** The new shard's name for clients, and its checkpoint origin. */
  hostname: string;
  port: number;
  /** The bundle the new shard is installed from (needed until it is installed). */
  bundleDir?: string;
  trust: string[];
  timeoutSec: number;
  skipChecks: string[];
  progress: Progress;
}

export interface RotateResult {
  old: InstanceState;
  new: InstanceState;
  /** When the old shard went read-only: the end of its window, the start of the new one's as writer. */
  rotatedAt: string;
  final: { size: number; rootHex: string };
  /** The rotation was already complete: nothing changed but the trust files, written again. */
  alreadyDone: boolean;
  /** A rotation an earlier run started was resumed. */
  resumed: boolean;
}

/** The rotation under way: both instances and what every step works with. */
interface Rotation {
  o: RotateOptions;
  stack: LogStack;
  old: InstanceState;
  newDataDir: string;
}

export async function rotateLog(o: RotateOptions): Promise<RotateResult> {
  validateInstanceName(o.instance);
  validateInstanceName(o.newInstance);
  if (o.instance === o.newInstance)
    throw new AirgapError('USAGE_INVALID', `--new-instance must name another instance than ${o.instance}`);
  const old = await requireState(o.instance, o.dataDir);
  const stack = logStackFor(old.kind, old.instance);
  if (!stack.readOnlySwitch)
    throw new AirgapError(
      'ROTATE_UNSUPPORTED_STACK',
      `instance ${old.instance} runs ${stack.title}: log rotate shards Rekor v2 logs only (rekor-tiles --read-only); sharding a Rekor v1 log (a new Trillian tree behind rekor-server) is out of this tool's scope`,
    );
  const newDataDir = dataDirFor(o.newInstance, o.newDataDir ?? sameRotation(old, o)?.toDataDir);
  const r: Rotation = { o, stack, old, newDataDir };
  if (old.rotatedTo) return rotatedAlready(r, old.rotatedTo);
  const resumed = await checkStart(r);
  try {
    return await runSteps(r, resumed);
  } catch (e) {
    if (!(e instanceof AirgapError)) throw e;
    throw new AirgapError(
      e.code,
      `${e.message}\nThe rotation of ${old.instance} to ${o.newInstance} is recorded in ${instancePaths(old.dataDir).state}: once the cause is fixed, run the same command again to resume it.`,
      { cause: e.cause ?? e, details: e.details },
    );
  }
}

function sameRotation(old: InstanceState, o: RotateOptions) {
  return old.rotation?.to === o.newInstance ? old.rotation : undefined;
}

/** Refuses what cannot be a rotation (or the resumption of this one); starts the journal. Resolves to "resumed". */
async function checkStart({ o, old, newDataDir }: Rotation): Promise<boolean> {
  if (old.rotation && old.rotation.to !== o.newInstance)
    throw new AirgapError(
      'ROTATE_IN_PROGRESS',
      `a rotation of ${old.instance} to ${old.rotation.to} (${old.rotation.toDataDir}) is under way since ${old.rotation.startedAt}: finish it with --new-instance ${old.rotation.to}`,
    );
  const existing = await readState(newDataDir);
  if (existing && !sameRotation(old, o))
    throw new AirgapError(
      'ROTATE_TARGET_EXISTS',
      `instance ${o.newInstance} already exists at ${newDataDir}: a new shard is a new instance (choose another --new-instance)`,
    );
  const taken = [old, ...(old.previousShards ?? [])].find((s) => s.origin === o.hostname);
  if (taken)
    throw new AirgapError(
      'ROTATE_SAME_ORIGIN',
      `origin ${o.hostname} is the one of shard ${taken.instance}: a new shard needs a new hostname (its checkpoint origin and key ID)`,
    );
  if (existing && existing.origin !== o.hostname)
    throw new AirgapError(
      'ROTATE_SAME_ORIGIN',
      `instance ${o.newInstance} was installed as origin ${existing.origin}: resume with --hostname ${existing.origin}`,
    );
  if (old.rotation) {
    o.progress.step(
      `resuming the rotation of ${old.instance} to ${o.newInstance} started at ${old.rotation.startedAt}`,
    );
    return true;
  }
  old.rotation = { to: o.newInstance, toDataDir: newDataDir, startedAt: new Date().toISOString() };
  await writeState(old);
  o.progress.step(`rotation of ${old.instance} to ${o.newInstance} recorded (a rerun of this command resumes it)`);
  return false;
}

async function runSteps(r: Rotation, resumed: boolean): Promise<RotateResult> {
  const next = await installNewShard(r);
  const rotatedAt = await switchReadOnly(r);
  const final = await recordFinalCheckpoint(r);
  const linked = await link(r, next, final);
  return { ...linked, rotatedAt, final: { size: final.size, rootHex: final.rootHex }, alreadyDone: false, resumed };
}

/** 1. The new shard: installed from the bundle (a fresh key, origin = its hostname), or found installed. */
async function installNewShard({ o, old, newDataDir, stack }: Rotation): Promise<InstanceState> {
  const existing = await readState(newDataDir);
  if (existing) {
    o.progress.step(`new shard ${existing.instance} is installed (${existing.url}); checking its log`);
    const seen = await observeLog(existing, stack);
    o.progress.step(`  its checkpoint: size ${seen.head.size}, signed by its key`);
    return existing;
  }
  if (!o.bundleDir)
    throw new AirgapError(
      'ROTATE_BUNDLE_NEEDED',
      `the new shard is installed from a bundle: pass --bundle DIR --trust KEY.pub with the bundle ${old.instance} was installed from (release ${old.bundle.release}, bundle.json SHA-256 ${old.bundle.manifestSha256}) or a newer one (the instance keeps its templates and tool, not the bundle)`,
    );
  o.progress.step(`installing the new shard ${o.newInstance} (${o.hostname}:${o.port}) with a new key`);
  const r = await installBundle({
    engine: o.engine,
    bundleDir: o.bundleDir,
    trust: o.trust,
    profile: old.profile,
    instance: o.newInstance,
    dataDir: newDataDir,
    hostname: o.hostname,
    origin: o.hostname,
    port: o.port,
    bindAddress: old.bindAddress,
    // The new shard serves under the old one's limits and checkpoint interval.
    limits: { ...old.limits, checkpointInterval: old.checkpointInterval },
    timeoutSec: o.timeoutSec,
    skipChecks: o.skipChecks,
    dryRun: false,
    smoke: true,
    tsa: old.stack.tsa === 'on',
    atLeastRelease: { release: old.bundle.release, of: `instance ${old.instance}` },
    progress: o.progress,
  });
  o.progress.step(`new shard installed: ${r.state.url}, origin ${r.state.origin}, key ID ${r.state.logKeyId}`);
  return r.state;
}

/** 2–3. The old shard's checkpoint kept, then writes switched off and proved refused. Resolves to the switch's time. */
async function switchReadOnly({ o, old, stack }: Rotation): Promise<string> {
  const target = await logTargetOf(old);
  const sw = stack.readOnlySwitch!;
  const refused = await sw.writesRefused(target).then(
    (answer) => answer,
    () => undefined,
  );
  if (refused && old.readOnlySince) {
    o.progress.step(`${old.instance} is read-only already: ${refused}`);
    return old.readOnlySince;
  }
  const before = await observeLog(old, stack, target);
  o.progress.step(`${old.instance}'s checkpoint before the switch: size ${before.head.size}, kept in its history`);
  if (!(await keptTemplateNames(instancePaths(old.dataDir))).length)
    throw new AirgapError(
      'ROTATE_READ_ONLY_FAILED',
      `${old.instance} keeps no templates to render its read-only configuration from (installed by an older rekor-airgap): install its bundle over it once (bundle install BUNDLE --instance ${old.instance}), then rerun`,
    );
  old.readOnlySince = old.readOnlySince ?? new Date().toISOString();
  await writeState(old);
  o.progress.step(`switching ${old.instance} to read-only (rekor-tiles --read-only) and restarting it`);
  await redeployInstance(o.engine, stack, old, { timeoutMs: o.timeoutSec * 1000, progress: o.progress });
  const answer = await sw.writesRefused(target).catch((e: Error) => {
    throw new AirgapError(
      'ROTATE_READ_ONLY_FAILED',
      `${old.instance} still takes writes after the switch (${e.message}); its templates may predate the read-only switch: install this release's bundle over it (bundle install BUNDLE --instance ${old.instance}), then rerun`,
      { cause: e },
    );
  });
  o.progress.step(`${old.instance} refuses writes: ${answer}`);
  return old.readOnlySince;
}

/**
 * 4. The old shard's final checkpoint: read and verified through the stack's readHead (which holds
 * the log's checkpoint to its key, and to its witnesses' quorum where it has a policy) and kept
 * in its history, consistent with every checkpoint kept before.
 */
async function recordFinalCheckpoint({ o, old, stack }: Rotation): Promise<LogHead> {
  const seen = await observeLog(old, stack);
  o.progress.step(
    `${old.instance}'s final checkpoint: size ${seen.head.size}, root ${seen.head.rootHex} (${seen.history === 'known' ? 'already kept' : 'kept'} in its history)`,
  );
  old.finalCheckpoint = { size: seen.head.size, rootHex: seen.head.rootHex };
  await writeState(old);
  return seen.head;
}

/** A shard as the other one's state keeps it: its facts, with the CA clients reach it through. */
async function shardOf(s: InstanceState): Promise<ShardFacts> {
  const ca = await fsp.readFile(instancePaths(s.dataDir).caCert, 'utf8');
  return { ...shardFactsOf(s, await ownTsaChain(s)), caCertPem: ca };
}

/** 5. Each state names the other; both instances' trust files list both shards. The journal ends. */
async function link(
  { o, old, stack }: Rotation,
  next: InstanceState,
  final: LogHead,
): Promise<Pick<RotateResult, 'old' | 'new'>> {
  const oldShard = { ...(await shardOf(old)), finalCheckpoint: { size: final.size, rootHex: final.rootHex } };
  next.previousShards = [oldShard, ...(old.previousShards ?? []).filter((s) => s.instance !== old.instance)];
  next.operator = operatorOf(old);
  next.updatedAt = new Date().toISOString();
  await writeState(next);
  await writeTrustFiles(next, stack.apiVersion);
  old.rotatedTo = await shardOf(next);
  delete old.rotation;
  old.updatedAt = next.updatedAt;
  await writeState(old);
  await writeTrustFiles(old, stack.apiVersion);
  o.progress.step(
    `linked: ${next.instance} lists ${old.instance} as its previous shard; the trust files of both list both logs, and clients write to ${next.url}`,
  );
  return { old, new: next };
}

/** A rotation already done: checked (the old shard still refuses writes) and its trust files written again. */
async function rotatedAlready({ o, old, stack }: Rotation, to: ShardFacts): Promise<RotateResult> {
  if (to.instance !== o.newInstance)
    throw new AirgapError(
      'ROTATE_ALREADY_ROTATED',
      `${old.instance} was rotated to ${to.instance} (${to.url}) at ${old.readOnlySince ?? '?'}: rotate ${to.instance}, the current shard, instead`,
    );
  const next = await requireState(to.instance, o.newDataDir);
  const answer = await stack.readOnlySwitch!.writesRefused(await logTargetOf(old));
  o.progress.step(`${old.instance} was rotated to ${to.instance} already; it refuses writes: ${answer}`);
  await writeTrustFiles(old, stack.apiVersion);
  await writeTrustFiles(next, stack.apiVersion);
  return {
    old,
    new: next,
    rotatedAt: old.readOnlySince ?? '',
    final: old.finalCheckpoint ?? { size: 0, rootHex: '' },
    alreadyDone: true,
    resumed: false,
  };
}
