/**
 * `bundle install` as named steps: verify → plan → preflight → load → configure → start → prove →
 * hand over. What differs between stacks comes from the stack module the profile names; nothing
 * here names a stack. A fresh install that fails removes what it started; a failed rerun or
 * upgrade puts the previous configuration back and starts it again.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import { AirgapError, isLogCheckFailure } from '../errors.js';
import { bundleRel } from '../bundle/layout.js';
import { chooseProfile, releaseOf, type BundleImage } from '../bundle/manifest.js';
import { parseProfile, type Profile } from '../bundle/profile.js';
import { loadTrustedKeys } from '../bundle/signing.js';
import { verifyBundleDir, type BundleVerifyResult } from '../bundle/verify-dir.js';
import { verifyCarriedProvenance } from '../bundle/provenance.js';
import { recordInstallReceipt, type ReceiptEntry } from './receipt.js';
import { provenanceText } from '../bundle/provenance-text.js';
import { projectContainers, servicesReport } from '../engine/docker.js';
import type { Engine } from '../engine/engine.js';
import { waitHealthy } from '../engine/wait-healthy.js';
import {
  composeProject,
  dataDirFor,
  instancePaths,
  validateInstanceName,
  type InstancePaths,
} from '../instance/layout.js';
import { logTargetOf } from '../instance/log-target.js';
import { observeLog } from '../stacks/observe.js';
import type { TemplateVars } from '../instance/render.js';
import { readState, shardFieldsOf, writeState, type InstanceState } from '../instance/state.js';
import { resolveServingLimits, type ServingLimitsAsked } from '../instance/serving-limits.js';
import type { LogHead } from '../rekor/log-head.js';
import type { SmokeReport } from '../rekor/report.js';
import { smokeFailure } from '../rekor/smoke.js';
import { stackFor } from '../stacks/registry.js';
import { allServices, type Stack } from '../stacks/stack.js';
import { smokeReadOnly } from '../stacks/read-only-smoke.js';
import type { Progress } from '../util/progress.js';
import { keepTemplates, restoreConfig, snapshotConfig, type TemplateSource } from '../deploy/configure.js';
import { configureInstance, startStack, type DeployContext } from '../deploy/deploy.js';
import { installToolFromBundle } from '../instance/tool.js';
import { putPreUpgradeCopyBack, takePreUpgradeCopy } from './upgrade-copy.js';
import { loadProfileImages } from '../deploy/load-images.js';
import { checkRelease } from './release-guard.js';
import { failPreflight, runPreflight, type CheckResult } from './preflight.js';
import { planWitnesses, wantsWitnesses, type WitnessOptions, type WitnessPlan } from './witness-options.js';
import { writeWitnessSetup } from '../instance/witnessing.js';
import { registerLogWithWitnesses } from './witness-registration.js';

export interface InstallOptions {
  /** The container engine this command works with (opened once, at the command's edge). */
  engine: Engine;
  bundleDir: string;
  trust: string[];
  profile?: string;
  instance: string;
  dataDir?: string;
  hostname?: string;
  origin?: string;
  port?: number;
  bindAddress?: string;
  /** Serving limits and checkpoint interval as asked (each unset one: the instance's, else the default). */
  limits?: ServingLimitsAsked;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  timeoutSec: number;
  skipChecks: string[];
  dryRun: boolean;
  smoke: boolean;
  /** Keep the generated TLS CA's private key in the instance's secrets. */
  keepCaKey?: boolean;
  /** Install a bundle whose release is lower than one this instance has run. */
  allowDowngrade?: boolean;
  /** Run a timestamp authority beside the log (kept on later installs once on). */
  tsa?: boolean;
  /** Witnesses the log sends its checkpoints to (kept on later installs once set). */
  witness?: WitnessOptions;
  /** A witness's name (the key name on its cosignatures; default the hostname; never changes). */
  witnessName?: string;
  /** Refuse a bundle whose release is lower (a new shard is installed from its log's release or a newer one). */
  atLeastRelease?: { release: number; of: string };
  progress: Progress;
}

export type InstallMode = 'fresh' | 'rerun' | 'upgrade';

export interface InstallResult {
  mode: InstallMode;
  dryRun: boolean;
  state: InstanceState;
  stack: Stack;
  preflight: CheckResult[];
  imagesLoaded: string[];
  imagesPresent: string[];
  smoke?: SmokeReport;
  /** The install receipt's log entry (a fresh log only). */
  receipt?: ReceiptEntry;
}

/** What the install is about to do, decided before anything is touched. */
interface PlanBase {
  verified: BundleVerifyResult;
  profile: Profile;
  stack: Stack;
  images: BundleImage[];
  paths: InstancePaths;
  state: InstanceState;
  engine: Engine;
  /** New witness settings of this install (absent: the instance keeps what it has). */
  witnesses?: WitnessPlan;
}

/** A fresh install has no instance yet; a rerun or an upgrade always goes over one. */
type Plan =
  | (PlanBase & { mode: 'fresh'; existing?: undefined })
  | UpgradePlan
  | (PlanBase & { mode: 'rerun'; existing: InstanceState });
type UpgradePlan = PlanBase & { mode: 'upgrade'; existing: InstanceState };

export async function installBundle(o: InstallOptions): Promise<InstallResult> {
  validateInstanceName(o.instance);
  const verified = await verify(o);
  const plan = await makePlan(o, verified);
  const pre = await preflight(o, plan);
  if (o.dryRun)
    return {
      mode: plan.mode,
      dryRun: true,
      state: plan.state,
      stack: plan.stack,
      preflight: pre.checks,
      imagesLoaded: [],
      imagesPresent: [],
    };
  const loaded = await loadProfileImages(plan.engine.docker, {
    bundleDir: verified.dir,
    manifest: verified.manifest,
    images: plan.images,
    readVerified: verified.readFile,
    progress: o.progress,
  });
  const snapshot = plan.existing ? await snapshotConfig(plan.paths) : new Map<string, Buffer>();
  // An upgrade: the old checkpoint joins the history (the new release must prove it extends it),
  // then the instance is stopped and copied as it is, for a rollback.
  let preUpgrade: { copy: string; head?: LogHead } | undefined;
  if (plan.mode === 'upgrade') preUpgrade = await prepareUpgrade(o, plan);
  let smoke: SmokeReport | undefined;
  let receipt: ReceiptEntry | undefined;
  try {
    const vars = await configure(o, plan);
    await startStack(deployContext(o, plan), vars, { timeoutMs: o.timeoutSec * 1000 });
    receipt = await receiptOfFreshLog(o, plan);
    smoke = o.smoke ? await prove(o, plan) : undefined;
    const seen = plan.stack.serves === 'log' ? await observeLog(plan.state, plan.stack) : undefined;
    if (preUpgrade?.head && seen)
      o.progress.step(
        `upgrade kept the log: size ${preUpgrade.head.size} → ${seen.head.size}, consistent (same key, same origin)`,
      );
    if (preUpgrade)
      o.progress.step(
        `the instance as it was before the upgrade stays in ${preUpgrade.copy} until the next upgrade (remove it once satisfied)`,
      );
  } catch (caught) {
    const e = await withServicesReport(caught, plan);
    if (preUpgrade && plan.mode === 'upgrade') throw await rollBackUpgrade(plan, preUpgrade, e, o.progress);
    await rollback(plan, snapshot, o.progress);
    throw e;
  }
  return {
    mode: plan.mode,
    dryRun: false,
    state: plan.state,
    stack: plan.stack,
    preflight: pre.checks,
    imagesLoaded: loaded.loaded,
    imagesPresent: loaded.present,
    ...(smoke ? { smoke } : {}),
    ...(receipt ? { receipt } : {}),
  };
}

/** A new log's first entry is the install receipt (a rerun or an upgrade keeps the one it has). */
async function receiptOfFreshLog(o: InstallOptions, plan: Plan): Promise<ReceiptEntry | undefined> {
  const { stack } = plan;
  if (plan.mode !== 'fresh' || stack.serves !== 'log' || plan.state.readOnlySince) return undefined;
  o.progress.step('install receipt: what was verified and made, signed, as the log’s first entry');
  return recordInstallReceipt({ ...plan, stack, profile: plan.profile.name, progress: o.progress });
}

/**
 * A smoke test that fails against a started stack says nothing of which service is at fault: the
 * error gains each service's state and last log lines, read before the stack is taken down.
 */
async function withServicesReport(e: unknown, plan: Plan): Promise<unknown> {
  if (!isLogCheckFailure(e)) return e;
  const report = await servicesReport(plan.engine.docker, plan.state.project);
  if (!report) return e;
  return new AirgapError(e.code, `${e.message}\nthe services when it failed:\n${report}`, {
    cause: e.cause,
    details: e.details,
  });
}

/** Verify: the signature, then every byte; nothing is loaded before this holds. */
async function verify(o: InstallOptions): Promise<BundleVerifyResult> {
  o.progress.step(`verifying ${o.bundleDir}`);
  const keys = await loadTrustedKeys(o.trust);
  const verified = await verifyBundleDir(o.bundleDir, keys, o.progress);
  o.progress.step(`bundle verified: signed by ${verified.signedBy}, ${verified.files} files`);
  for (const p of await verifyCarriedProvenance(verified))
    o.progress.step(`provenance of ${p.image}: ${provenanceText(p.provenance)}`);
  return verified;
}

/** Plan: which profile and stack, fresh/rerun/upgrade, and the instance's settings. */
async function makePlan(o: InstallOptions, verified: BundleVerifyResult): Promise<Plan> {
  const { manifest } = verified;
  const profileName = chooseProfile(manifest, o.profile);
  const rel = bundleRel.profile(profileName);
  const profile = parseProfile((await verified.readFile(rel)).toString('utf8'), rel);
  const stack = stackFor(profile.kind);
  const images = manifest.images.filter((i) => i.profiles.includes(profile.name));
  const dataDir = dataDirFor(o.instance, o.dataDir);
  const paths = instancePaths(dataDir);
  const existing = await readState(dataDir);
  if (existing && existing.profile !== profile.name) {
    throw new AirgapError(
      'INSTALL_PROFILE_MISMATCH',
      `instance ${o.instance} runs ${existing.profile}; this install is ${profile.name} (use another --instance)`,
    );
  }
  const release = releaseOf(manifest, profile.name);
  if (o.atLeastRelease && release < o.atLeastRelease.release)
    throw new AirgapError(
      'ROTATE_BUNDLE_OLDER',
      `${o.bundleDir} holds release ${release} of ${profile.name}; ${o.atLeastRelease.of} runs release ${o.atLeastRelease.release}: pass the bundle it was installed from, or a newer one`,
    );
  const releases = checkRelease(o.instance, existing?.highestRelease ?? 0, release, o.allowDowngrade === true);
  if (releases.downgrade)
    o.progress.warn(`installing release ${release} over release ${existing?.highestRelease} (--allow-downgrade)`);
  checkStackOptions(o, stack);
  const witnesses = wantsWitnesses(o.witness) ? await planStackWitnesses(stack, o.witness) : undefined;
  const hostname = o.hostname ?? existing?.hostname ?? os.hostname();
  // A witness's name is its origin: the name it signs with, which never changes either.
  const origin = o.origin ?? o.witnessName ?? existing?.origin ?? hostname;
  if (existing && existing.origin !== origin) {
    throw new AirgapError(
      'INSTALL_ORIGIN_CHANGE',
      stack.serves === 'witness'
        ? `witness ${o.instance} cosigns as ${existing.origin}; a witness cannot change its name (asked: ${origin})`
        : `instance ${o.instance} signs checkpoints as ${existing.origin}; a log cannot change its origin (asked: ${origin})`,
    );
  }
  if (!/^[^\s+]+$/.test(origin))
    throw new AirgapError('USAGE_BAD_ORIGIN', `origin ${JSON.stringify(origin)} must have no spaces and no "+"`);
  const serving = resolveServingLimits(o.limits ?? {}, existing);
  const port = o.port ?? existing?.httpsPort ?? profile.ports.https;
  const bindAddress = o.bindAddress ?? existing?.bindAddress ?? '0.0.0.0';
  const now = new Date().toISOString();
  const state: InstanceState = {
    instance: o.instance,
    profile: profile.name,
    kind: stack.kind,
    project: composeProject(o.instance),
    dataDir,
    hostname,
    origin,
    httpsPort: port,
    bindAddress,
    url: `https://${hostname}:${port}`,
    stack: { ...(existing?.stack ?? {}), ...(o.tsa ? { tsa: 'on' } : {}) },
    logPublicKeyPem: existing?.logPublicKeyPem ?? '',
    logKeyId: existing?.logKeyId ?? '',
    checkpointInterval: serving.checkpointInterval,
    limits: serving.limits,
    bundle: { createdAt: manifest.createdAt, manifestSha256: verified.manifestSha256, release },
    highestRelease: releases.highest,
    images: Object.fromEntries(images.map((i) => [i.name, { ref: i.ref, configDigest: i.configDigest }])),
    installedAt: existing?.installedAt ?? now,
    updatedAt: now,
    ...(existing ? shardFieldsOf(existing) : {}),
  };
  const base: PlanBase = {
    verified,
    profile,
    stack,
    images,
    paths,
    state,
    engine: o.engine,
    ...(witnesses ? { witnesses } : {}),
  };
  if (!existing) return { ...base, mode: 'fresh' };
  return { ...base, existing, mode: existing.bundle.manifestSha256 === verified.manifestSha256 ? 'rerun' : 'upgrade' };
}

/** Witnesses need a log that posts its checkpoints to them (rekor-tiles, with an Ed25519 key). */
async function planStackWitnesses(stack: Stack, o: WitnessOptions): Promise<WitnessPlan> {
  if (stack.serves !== 'log' || !stack.witnessing)
    throw new AirgapError(
      'USAGE_INVALID',
      `--witness-policy/--witness-instance: the ${stack.title} stack does not send its checkpoints to witnesses`,
    );
  return planWitnesses(o);
}

/** Options that only some stacks take: --tsa (a log that runs one), --origin (a log), --witness-name (a witness). */
function checkStackOptions(o: InstallOptions, stack: Stack): void {
  if (o.tsa && (stack.serves !== 'log' || !stack.timestampAuthority))
    throw new AirgapError('USAGE_INVALID', `--tsa: the ${stack.title} stack runs no timestamp authority beside a log`);
  if (o.witnessName !== undefined && stack.serves !== 'witness')
    throw new AirgapError('USAGE_INVALID', `--witness-name: the ${stack.title} stack is not a witness (use --origin)`);
  if (o.origin !== undefined && stack.serves === 'witness')
    throw new AirgapError('USAGE_INVALID', `--origin: a witness has no log origin; name it with --witness-name`);
}

/** Preflight: engine, compose, disk, ports, memory, clock. Fails before anything is loaded. */
async function preflight(o: InstallOptions, plan: Plan) {
  // A port held by this instance's own containers is not busy: a rerun, an upgrade, or a rerun
  // after an install that was killed before it wrote its state (its containers kept running).
  let ownPorts: number[] = [];
  const running = await projectContainers(plan.engine.docker, plan.state.project).catch(() => []);
  if (running.some((c) => c.state === 'running'))
    ownPorts = [...new Set([plan.state.httpsPort, ...(plan.existing ? [plan.existing.httpsPort] : [])])];
  const pre = await runPreflight({
    engine: plan.engine,
    dataDir: plan.state.dataDir,
    bindAddress: plan.state.bindAddress,
    ports: [plan.state.httpsPort],
    ownPorts,
    imageBytes: plan.images.reduce((a, i) => a + i.size, 0),
    minMemory: plan.stack.minMemoryBytes,
    bundleCreatedAt: plan.verified.manifest.createdAt,
    skip: o.skipChecks,
  });
  for (const c of pre.checks)
    o.progress.step(`  preflight ${c.name}: ${c.status === 'ok' ? 'ok' : c.status.toUpperCase()} — ${c.message}`);
  failPreflight(pre.checks);
  return pre;
}

/** What configureInstance and startStack work with: the plan, the bundle's templates and artifacts, the TLS options. */
function deployContext(o: InstallOptions, plan: Plan): DeployContext {
  const { paths, stack, state, profile, verified } = plan;
  return {
    engine: plan.engine,
    stack,
    paths,
    state,
    templates: templateSource(plan),
    templateNames: profile.templates,
    images: Object.fromEntries(plan.images.map((i) => [i.name, i.ref])),
    artifacts: new Map(profile.artifacts.map((a) => [a.name, () => verified.readFile(bundleRel.artifact(a.name))])),
    tls: {
      keepCaKey: o.keepCaKey === true,
      ...(o.tlsCert ? { certFile: o.tlsCert } : {}),
      ...(o.tlsKey ? { keyFile: o.tlsKey } : {}),
      ...(o.tlsCa ? { caFile: o.tlsCa } : {}),
    },
    ...(plan.existing?.logPublicKeyPem ? { expectedLogKeyPem: plan.existing.logPublicKeyPem } : {}),
    progress: o.progress,
  };
}

/** Configure: directories, the stack's keys and secrets, TLS, rendered configuration, the tool. */
async function configure(o: InstallOptions, plan: Plan): Promise<TemplateVars> {
  o.progress.step(`configuring instance ${o.instance} in ${plan.paths.dataDir}`);
  if (plan.witnesses) await writeWitnessSetup(plan.paths, plan.witnesses);
  const vars = await configureInstance(deployContext(o, plan));
  if (plan.witnesses?.managed.length)
    await registerLogWithWitnesses(plan.engine, plan.state, plan.witnesses.managed, o.progress);
  // The instance keeps its templates (a restore renders them again for a new name or port) and
  // the tool (its backup.sh, restore.sh and timer run it).
  await keepTemplates(plan.paths, plan.profile.templates, templateSource(plan));
  await installToolFromBundle(plan.paths, plan.verified);
  return vars;
}

function templateSource(plan: Plan): TemplateSource {
  return {
    profile: plan.profile.name,
    read: (name) => plan.verified.readFile(bundleRel.template(plan.profile.name, name)),
  };
}

/**
 * Prove: the stack's end-to-end smoke test against the running log (or witness); for a shard
 * rotated out (read-only), the read-only one: proofs of what it holds, and a write refused.
 */
async function prove(o: InstallOptions, plan: Plan): Promise<SmokeReport> {
  const { stack, state } = plan;
  if (stack.serves === 'witness') {
    o.progress.step('smoke test: an unknown log refused, the test log cosigned and the cosignature verified');
    return proven(await stack.smoke(state));
  }
  const target = await logTargetOf(state);
  const readOnly = !!state.readOnlySince;
  o.progress.step(
    readOnly
      ? 'read-only smoke test (the log was rotated out): proofs of its entries, a write refused'
      : 'smoke test: submitting entries and verifying proofs and checkpoints',
  );
  const report = readOnly
    ? await smokeReadOnly(stack, target, { frozen: true, final: state.finalCheckpoint })
    : await stack.smoke(target);
  return proven(report);
}

function proven(report: SmokeReport): SmokeReport {
  const failure = smokeFailure(report);
  if (failure) throw failure;
  return report;
}

async function prepareUpgrade(o: InstallOptions, plan: UpgradePlan): Promise<{ copy: string; head?: LogHead }> {
  const { existing } = plan;
  let head: LogHead | undefined;
  const running = await projectContainers(plan.engine.docker, existing.project).catch(() => []);
  const stack = stackFor(existing.kind);
  if (stack.serves === 'log' && running.some((c) => c.state === 'running')) {
    o.progress.step(`recording the checkpoint of release ${existing.bundle.release} before the upgrade`);
    const target = await logTargetOf(existing, { witnesses: false });
    head = (await observeLog(existing, stack, target)).head;
    o.progress.step(`  tree size ${head.size}, root ${head.rootHex}`);
  } else if (stack.serves === 'log') {
    o.progress.warn(
      `instance ${existing.instance} is not running: its checkpoint cannot be recorded before the upgrade; the history's largest checkpoint is what the new release must extend`,
    );
  }
  const copy = await takePreUpgradeCopy(
    plan.engine.project(existing.project, plan.paths.compose),
    existing,
    plan.paths,
    o.progress,
  );
  return { copy, ...(head ? { head } : {}) };
}

/** A failed upgrade: the previous release's images, configuration and data, running again. */
async function rollBackUpgrade(
  plan: UpgradePlan,
  pre: { copy: string; head?: LogHead },
  cause: unknown,
  progress: Progress,
): Promise<AirgapError> {
  const { existing } = plan;
  const why = cause instanceof AirgapError ? `[${cause.code}] ${cause.message}` : (cause as Error).message;
  progress.step(`upgrade failed (${why}); rolling back to release ${existing.bundle.release} with the data as it was`);
  try {
    // Nothing is moved back under services that did not stop: a failed stop fails the rollback,
    // which then names where the data as it was is kept.
    await plan.engine.project(plan.state.project, plan.paths.compose).down();
    await putPreUpgradeCopyBack(pre.copy, plan.paths);
    await plan.engine.project(existing.project, plan.paths.compose).up();
    await waitHealthy(plan.engine.docker, existing.project, allServices(stackFor(existing.kind)), 300_000, progress);
    const stack = stackFor(existing.kind);
    const back = stack.serves === 'log' ? (await observeLog(existing, stack)).head : undefined;
    return new AirgapError(
      'UPGRADE_ROLLED_BACK',
      `the upgrade to release ${plan.state.bundle.release} failed: ${why}\nRolled back: release ${existing.bundle.release} (${Object.values(
        existing.images,
      )
        .map((i) => i.ref)
        .join(
          ', ',
        )}) runs again on the data as it was before the upgrade${back ? `; its log serves tree size ${back.size}, root ${back.rootHex}` : ''}.`,
      { cause },
    );
  } catch (e) {
    return new AirgapError(
      'INSTALL_SERVICE_FAILED',
      `the upgrade failed (${why}) and so did the rollback: ${(e as Error).message}. The data as it was before the upgrade is in ${pre.copy}`,
      { cause },
    );
  }
}

async function rollback(plan: Plan, snapshot: Map<string, Buffer>, progress: Progress): Promise<void> {
  const { state, paths, mode, existing } = plan;
  const project = plan.engine.project(state.project, paths.compose);
  try {
    if (mode === 'fresh') {
      progress.step(
        `install failed: stopping and removing what it started (project ${state.project}); data and keys stay in ${paths.dataDir}`,
      );
      await project.down();
      await fsp.rm(paths.state, { force: true });
    } else {
      progress.step(`${mode} failed: putting back the previous configuration of ${state.project}`);
      await restoreConfig(snapshot);
      if (existing) await writeState(existing);
      await project.up();
    }
  } catch (e) {
    progress.warn(`cleanup after the failure did not finish: ${(e as Error).message}`);
  }
}
