/**
 * `bundle install`: verify → preflight → load → secrets and config → start → wait healthy →
 * smoke → hand over. A fresh install that fails stops and removes what it started; a failed
 * rerun or upgrade puts the previous configuration back and starts it again.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AirgapError } from '../errors.js';
import { bundlePath } from '../bundle/layout.js';
import type { BundleImage } from '../bundle/manifest.js';
import { parseProfile, type Profile } from '../bundle/profile.js';
import { loadTrustedKeys } from '../bundle/signing.js';
import { verifyBundleDir } from '../bundle/verify-dir.js';
import { sha256Hex } from '../oci/digest.js';
import { connectEngine, projectContainers } from '../engine/docker.js';
import type { Compose } from '../engine/compose.js';
import { logKeyId } from '../rekor/note.js';
import type { SmokeReport } from '../rekor/report.js';
import { runSmoke, smokeFailure, targetFromState } from '../rekor/smoke.js';
import { exists, writeFileAtomic } from '../util/fs-atomic.js';
import type { Progress } from '../util/progress.js';
import { composeProject, dataDirFor, instancePaths, readState, validateInstanceName, writeState, type InstancePaths, type InstanceState } from './instance.js';
import { loadProfileImages } from './load-images.js';
import { failPreflight, runPreflight, type CheckResult } from './preflight.js';
import { renderTemplate, type TemplateVars } from './render.js';
import { ensureDbPasswords, ensureEcdsaLogKey, ensureEd25519LogKey, ensureTls, writeSecret } from './secrets.js';
import { waitHealthy } from './wait-healthy.js';
import { createTree } from './trillian-tree.js';

/** uid of the distroless nonroot user the Go servers run as. */
export const NONROOT_UID = 65532;

export interface InstallOptions {
  bundleDir: string;
  trust: string[];
  profile?: string;
  instance: string;
  dataDir?: string;
  hostname?: string;
  origin?: string;
  port?: number;
  bindAddress?: string;
  checkpointInterval: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  timeoutSec: number;
  skipChecks: string[];
  dryRun: boolean;
  smoke: boolean;
  progress: Progress;
}

export interface InstallResult {
  mode: 'fresh' | 'rerun' | 'upgrade';
  dryRun: boolean;
  state: InstanceState;
  preflight: CheckResult[];
  imagesLoaded: string[];
  imagesPresent: string[];
  smoke?: SmokeReport;
}

const SECRET_TEMPLATES = new Set(['rekor-server.yaml', 'trillian.flags']);

function templateDest(p: InstancePaths, name: string): { file: string; secret: boolean; mode: number } {
  if (SECRET_TEMPLATES.has(name)) return { file: path.join(p.secrets, name), secret: true, mode: 0o600 };
  if (name.endsWith('.sh')) return { file: path.join(p.scripts, name), secret: false, mode: 0o755 };
  return { file: path.join(p.config, name), secret: false, mode: 0o644 };
}

async function renderAll(bundleDir: string, profile: Profile, p: InstancePaths, vars: TemplateVars, only?: (name: string) => boolean): Promise<void> {
  for (const name of profile.templates) {
    if (only && !only(name)) continue;
    const src = path.join(bundlePath.templates(bundleDir, profile.name), name);
    const text = await fsp.readFile(src, 'utf8').catch(() => { throw new AirgapError('BUNDLE_FILE_MISSING', `template ${src} is missing from the bundle`); });
    const out = renderTemplate(text, vars, `${profile.name}/${name}`);
    const d = templateDest(p, name);
    if (d.secret) await writeSecret(d.file, out, NONROOT_UID);
    else {
      await writeFileAtomic(d.file, out, d.mode);
      await fsp.chmod(d.file, d.mode);
    }
  }
}

/** Copies of the rendered files, so a failed upgrade can put them back. */
async function snapshotConfig(p: InstancePaths): Promise<Map<string, Buffer>> {
  const snap = new Map<string, Buffer>();
  for (const dir of [p.config, p.secrets, p.scripts]) {
    for (const f of await fsp.readdir(dir).catch(() => [] as string[])) {
      const full = path.join(dir, f);
      if ((await fsp.stat(full)).isFile()) snap.set(full, await fsp.readFile(full));
    }
  }
  return snap;
}

async function restoreConfig(snap: Map<string, Buffer>): Promise<void> {
  for (const [file, bytes] of snap) await fsp.writeFile(file, bytes);
}

function chooseProfile(profiles: string[], wanted: string | undefined): string {
  if (wanted) {
    if (!profiles.includes(wanted)) throw new AirgapError('USAGE_PROFILE_NOT_IN_BUNDLE', `profile ${wanted} is not in this bundle (it has: ${profiles.join(', ')})`);
    return wanted;
  }
  if (profiles.length === 1) return profiles[0]!;
  throw new AirgapError('USAGE_PROFILE_AMBIGUOUS', `this bundle holds several profiles (${profiles.join(', ')}); choose one with --profile`);
}

export async function installBundle(o: InstallOptions): Promise<InstallResult> {
  const { progress } = o;
  validateInstanceName(o.instance);
  const bundleDir = path.resolve(o.bundleDir);

  // 1. Verify: nothing is loaded before this holds.
  progress.step(`verifying ${bundleDir}`);
  const keys = await loadTrustedKeys(o.trust);
  const verified = await verifyBundleDir(bundleDir, keys, progress);
  const manifest = verified.manifest;
  const manifestSha256 = sha256Hex(await fsp.readFile(bundlePath.manifest(bundleDir)));
  progress.step(`bundle verified: signed by ${verified.signedBy}, ${verified.files} files`);
  const profileName = chooseProfile(manifest.profiles, o.profile);
  const profile = parseProfile(await fsp.readFile(bundlePath.profile(bundleDir, profileName), 'utf8'), bundlePath.profile(bundleDir, profileName));
  const images: BundleImage[] = manifest.images.filter((i) => i.profiles.includes(profile.name));

  // Instance and mode.
  const dataDir = dataDirFor(o.instance, o.dataDir);
  const p = instancePaths(dataDir);
  const existing = await readState(dataDir);
  if (existing && existing.profile !== profile.name) {
    throw new AirgapError('INSTALL_PROFILE_MISMATCH', `instance ${o.instance} runs ${existing.profile}; this install is ${profile.name} (use another --instance)`);
  }
  const mode: InstallResult['mode'] = !existing ? 'fresh' : existing.bundle.manifestSha256 === manifestSha256 ? 'rerun' : 'upgrade';
  const hostname = o.hostname ?? existing?.hostname ?? os.hostname();
  const origin = o.origin ?? existing?.origin ?? hostname;
  if (existing && existing.origin !== origin) {
    throw new AirgapError('INSTALL_ORIGIN_CHANGE', `instance ${o.instance} signs checkpoints as ${existing.origin}; a log cannot change its origin (asked: ${origin})`);
  }
  if (!/^[^\s+]+$/.test(origin)) throw new AirgapError('USAGE_BAD_ORIGIN', `origin ${JSON.stringify(origin)} must have no spaces and no "+"`);
  const port = o.port ?? existing?.httpsPort ?? profile.ports.https;
  const bindAddress = o.bindAddress ?? existing?.bindAddress ?? '0.0.0.0';
  const project = composeProject(o.instance);
  const docker = connectEngine();

  // 2. Preflight.
  let ownPorts: number[] = [];
  if (existing) {
    const running = await projectContainers(docker, project).catch(() => []);
    if (running.some((c) => c.state === 'running')) ownPorts = [existing.httpsPort];
  }
  const imageBytes = images.reduce((a, i) => a + i.size, 0);
  const pre = await runPreflight({
    docker, dataDir, bindAddress, ports: [port], ownPorts, imageBytes,
    minMemory: (profile.smoke === 'rekor-v1' ? 2 : 1) * 1024 ** 3, bundleCreatedAt: manifest.createdAt, skip: o.skipChecks,
  });
  for (const c of pre.checks) progress.step(`  preflight ${c.name}: ${c.status === 'ok' ? 'ok' : c.status.toUpperCase()} — ${c.message}`);
  const url = `https://${hostname}:${port}`;
  const draft: InstanceState = {
    instance: o.instance, profile: profile.name, smoke: profile.smoke, project, dataDir, hostname, origin, httpsPort: port, bindAddress, url,
    ...(existing?.treeId ? { treeId: existing.treeId } : {}),
    logPublicKeyPem: existing?.logPublicKeyPem ?? '', logKeyId: existing?.logKeyId ?? '',
    bundle: { createdAt: manifest.createdAt, manifestSha256 },
    images: Object.fromEntries(images.map((i) => [i.name, { ref: i.ref, configDigest: i.configDigest }])),
    installedAt: existing?.installedAt ?? new Date().toISOString(), updatedAt: new Date().toISOString(),
  };
  if (o.dryRun) {
    failPreflight(pre.checks);
    return { mode, dryRun: true, state: draft, preflight: pre.checks, imagesLoaded: [], imagesPresent: [] };
  }
  failPreflight(pre.checks);
  const compose = pre.compose as Compose;

  // 3. Load images from the bundle, no registry.
  const loaded = await loadProfileImages(docker, bundleDir, manifest, images, progress);

  // 4-5. Secrets and configuration.
  progress.step(`configuring instance ${o.instance} in ${dataDir}`);
  for (const d of [p.dataDir, p.config, p.scripts, p.tls]) await fsp.mkdir(d, { recursive: true, mode: 0o755 });
  await fsp.mkdir(p.secrets, { recursive: true, mode: 0o711 });
  await fsp.chmod(p.secrets, 0o711);
  const snapshot = existing ? await snapshotConfig(p) : new Map<string, Buffer>();
  const vars: TemplateVars = {
    instance: o.instance, project, data_dir: dataDir, hostname, origin, https_port: port, bind_address: bindAddress,
    checkpoint_interval: o.checkpointInterval,
    images: Object.fromEntries(images.map((i) => [i.name, i.ref])),
  };
  let logKey;
  if (profile.smoke === 'rekor-v2') {
    await fsp.mkdir(p.log, { recursive: true });
    await fsp.chown(p.log, NONROOT_UID, NONROOT_UID);
    logKey = await ensureEd25519LogKey(p, NONROOT_UID);
  } else {
    await fsp.mkdir(p.db, { recursive: true });
    await fsp.mkdir(p.initdb, { recursive: true });
    const pw = await ensureDbPasswords(p);
    logKey = await ensureEcdsaLogKey(p, NONROOT_UID);
    vars.db_password = pw.user;
    vars.signer_password = logKey.password;
    for (const a of profile.artifacts) {
      if (a.name.endsWith('.sql')) await fsp.copyFile(bundlePath.artifact(bundleDir, a.name), path.join(p.initdb, `001-${a.name}`));
    }
  }
  if (existing && existing.logPublicKeyPem && existing.logPublicKeyPem !== logKey.publicPem) {
    throw new AirgapError('INSTALL_KEY_CHANGED', `the log signing key in ${p.logSigner} is not the one instance ${o.instance} was installed with`);
  }
  draft.logPublicKeyPem = logKey.publicPem;
  draft.logKeyId = Buffer.from(logKeyId(origin, logKey.publicKey)).toString('hex');
  await ensureTls(p, { hostname, instance: o.instance, ...(o.tlsCert ? { certFile: o.tlsCert } : {}), ...(o.tlsKey ? { keyFile: o.tlsKey } : {}), ...(o.tlsCa ? { caFile: o.tlsCa } : {}) });
  if (draft.treeId) vars.tree_id = draft.treeId;
  await renderAll(bundleDir, profile, p, vars, (n) => n !== 'rekor-server.yaml' || vars.tree_id !== undefined);

  // 6-7. Start, wait, prove.
  const timeoutMs = o.timeoutSec * 1000;
  const services = profile.smoke === 'rekor-v2' ? ['rekor', 'nginx'] : ['mariadb', 'trillian-log-server', 'trillian-log-signer', 'rekor', 'nginx'];
  let smoke: SmokeReport | undefined;
  try {
    if (profile.smoke === 'rekor-v1') {
      progress.step('starting MariaDB and Trillian');
      await compose.run(project, p.compose, ['up', '-d', 'mariadb', 'trillian-log-server', 'trillian-log-signer']);
      await waitHealthy(docker, project, ['mariadb', 'trillian-log-server', 'trillian-log-signer'], timeoutMs, progress);
      if (!draft.treeId) {
        progress.step('creating the Trillian tree (once; its ID is pinned)');
        draft.treeId = await createTree(compose, project, p.compose, timeoutMs);
        await writeState(draft);
      }
      vars.tree_id = draft.treeId;
      await renderAll(bundleDir, profile, p, vars, (n) => n === 'rekor-server.yaml');
    }
    progress.step(`starting ${project} with ${compose.kind === 'v1' ? 'docker-compose' : 'docker compose'}`);
    await compose.run(project, p.compose, ['up', '-d', '--remove-orphans']);
    await waitHealthy(docker, project, services, timeoutMs, progress);
    await writeState(draft);
    if (o.smoke) {
      progress.step('smoke test: submitting entries and verifying proofs and checkpoints');
      smoke = await runSmoke(await targetFromState(draft));
      const failure = smokeFailure(smoke);
      if (failure) throw failure;
    }
  } catch (e) {
    await rollback(compose, project, p, mode, snapshot, existing, progress);
    throw e;
  }
  return { mode, dryRun: false, state: draft, preflight: pre.checks, imagesLoaded: loaded.loaded, imagesPresent: loaded.present, ...(smoke ? { smoke } : {}) };
}

async function rollback(compose: Compose, project: string, p: InstancePaths, mode: InstallResult['mode'], snapshot: Map<string, Buffer>, existing: InstanceState | undefined, progress: Progress): Promise<void> {
  try {
    if (mode === 'fresh') {
      progress.step(`install failed: stopping and removing what it started (project ${project}); data and keys stay in ${p.dataDir}`);
      await compose.run(project, p.compose, ['down', '--remove-orphans', '--timeout', '10']);
      await fsp.rm(p.state, { force: true });
    } else {
      progress.step(`${mode} failed: putting back the previous configuration of ${project}`);
      await restoreConfig(snapshot);
      if (existing) await writeState(existing);
      if (await exists(p.compose)) await compose.run(project, p.compose, ['up', '-d', '--remove-orphans']);
    }
  } catch (e) {
    progress.warn(`cleanup after the failure did not finish: ${(e as Error).message}`);
  }
}
