/**
 * Upstream provenance across the gap. The rig's test Sigstore signed its stand-in rekor-tiles and
 * timestamp-server images the way their release workflows do (GitHub build provenance, a Sigstore
 * bundle as an OCI referrer behind the fallback tag), and one fixture image as another signer.
 * `bundle create` verifies each image against its profile's policy and carries what it verified;
 * the air-gapped side verifies it again, offline, before anything is loaded.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { serializeManifest, type BundleManifest } from '../../src/bundle/manifest.js';
import { signDetached } from '../../src/bundle/sign-detached.js';
import { loadSigningKey, readPassphrase } from '../../src/bundle/signing.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { makeSigningKey, tempDir, type SigningKey } from '../helpers/fixtures.js';
import { freeOfflinePort, projectContainerNames, runOffline } from '../helpers/offline.js';
import { createRigBundle } from '../helpers/rig-bundle.js';
import { needRig, rig, rigSources } from '../helpers/rig.js';

const GITHUB = 'https://token.actions.githubusercontent.com';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.skipIf(!rig)('upstream provenance', () => {
  let dir: string;
  let key: SigningKey;
  let bundle: string;
  let manifest: BundleManifest;
  const image = (name: string) => manifest.images.find((i) => i.name === name && i.profiles.includes('rekor-v2'))!;

  beforeAll(async () => {
    dir = tempDir('provenance-test-');
    key = await makeSigningKey(dir);
    const made = await createRigBundle(needRig(), dir, key);
    expect(made.result.exitCode, made.result.stderr).toBe(0);
    bundle = made.bundle;
    manifest = JSON.parse(readFileSync(path.join(bundle, 'bundle.json'), 'utf8'));
  });

  it('create verifies the signed images against their release workflows and records the unsigned as unsigned', () => {
    for (const [name, repo] of [
      ['rekor', 'rekor-tiles'],
      ['tsa', 'timestamp-authority'],
    ] as const) {
      const img = image(name);
      const tag = img.ref.split(':').pop();
      expect(img.provenance).toMatchObject({
        status: 'verified',
        identity: `https://github.com/sigstore/${repo}/.github/workflows/build_container.yml@refs/tags/${tag}`,
        issuer: GITHUB,
        predicateTypes: ['https://slsa.dev/provenance/v1'],
      });
      const p = img.provenance as Extract<BundleImage['provenance'], { status: 'verified' }>;
      // The carried subject is the manifest or index the tag resolved to, byte for byte.
      expect(`sha256:${sha256(readFileSync(path.join(bundle, p.subject)))}`).toBe(img.digest);
      expect(p.attestations.length).toBeGreaterThan(0);
    }
    expect(image('nginx').provenance).toMatchObject({ status: 'unsigned' });
    expect(manifest.images.find((i) => i.name === 'witness')!.provenance).toMatchObject({ status: 'unsigned' });
    // The trusted root used is carried as it was given.
    expect(readFileSync(path.join(bundle, manifest.sigstoreTrustedRoot!))).toEqual(
      readFileSync(needRig().sigstoreTrustedRoot),
    );
  });

  it('bundle verify, on the air-gapped side, shows each image’s provenance verified again offline', async () => {
    const res = await runOffline(needRig(), ['bundle', 'verify', bundle, '--trust', key.pub]);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toMatch(
      /sigstore\/rekor-tiles\/posix:v[\d.]+@sha256:[0-9a-f]{64}\n\s+verified: https:\/\/slsa\.dev\/provenance\/v1 signed by https:\/\/github\.com\/sigstore\/rekor-tiles\//,
    );
    expect(res.stdout).toMatch(/library\/nginx:[\d.]+@sha256:[0-9a-f]{64}\n\s+unsigned upstream: digest pinned/);
  });

  it('after bundle push, cosign v3 verifies the pushed images and their provenance with only the trusted root', async () => {
    const r = needRig();
    const prefix = `prov-${Date.now().toString(36)}`;
    const push = await runCli([
      'bundle', 'push', bundle, '--trust', key.pub, '--registry', r.registry, '--prefix', prefix,
      '--map', path.join(dir, 'map.json'), '--json',
    ]); // prettier-ignore
    expect(push.exitCode, push.stderr).toBe(0);
    const pushed = JSON.parse(push.stdout) as { artifacts: Array<{ ref: string; attestations?: number }> };
    for (const [name, repo] of [
      ['rekor', 'rekor-tiles'],
      ['tsa', 'timestamp-authority'],
    ] as const) {
      const img = image(name);
      expect(pushed.artifacts.find((a) => a.ref === img.ref)!.attestations).toBe(1);
      const target = `${r.registry}/${prefix}/${new URL(`https://${img.ref}`).pathname.slice(1).replace(/:[^:]+$/, '')}@${img.digest}`;
      const identity = (img.provenance as { identity: string }).identity;
      expect(identity).toContain(`sigstore/${repo}/`);
      const common = ['--offline', '--trusted-root', r.sigstoreTrustedRoot, '--certificate-identity', identity,
        '--certificate-oidc-issuer', GITHUB, '--allow-http-registry']; // prettier-ignore
      const v = spawnSync(r.cosign3, ['verify', ...common, target], { encoding: 'utf8', timeout: 120_000 });
      expect(v.status, v.stderr).toBe(0);
      const a = spawnSync(r.cosign3, ['verify-attestation', '--type', 'slsaprovenance1', ...common, target], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(a.status, a.stderr).toBe(0);
      // Another identity is refused by cosign too: the check is not vacuous.
      const other = spawnSync(
        r.cosign3,
        ['verify', ...common.map((x) => (x === identity ? identity.replace('sigstore/', 'example-fork/') : x)), target],
        {
          encoding: 'utf8',
          timeout: 120_000,
        },
      );
      expect(other.status).not.toBe(0);
    }
  });

  it('create refuses an image signed by another identity, naming the image, the expected and the found identity', async () => {
    const r = needRig();
    const profiles = path.join(dir, 'other/bundles');
    mkdirSync(profiles, { recursive: true });
    const other = 'ghcr.io/rekor-airgap-rig/signed-by-other:1';
    const yaml = readFileSync(path.join(ROOT, 'bundles/rekor-v2.yaml'), 'utf8');
    writeFileSync(
      path.join(profiles, 'rekor-v2.yaml'),
      yaml.replace(/ghcr\.io\/sigstore\/timestamp-server:v[\d.]+/, other),
    );
    cpSync(path.join(ROOT, 'bundles/witness.yaml'), path.join(profiles, 'witness.yaml'));
    const out = path.join(dir, 'other/bundle');
    const res = await runCli([
      'bundle', 'create', '--quiet', '--profile', path.join(profiles, 'rekor-v2.yaml'), '--out', out,
      '--key', key.key, '--passphrase-file', key.passphraseFile, ...rigSources(r),
    ]); // prettier-ignore
    expect(res.exitCode, res.stderr).toBe(3);
    expect(res.stderr).toContain('PROVENANCE_IDENTITY_MISMATCH');
    expect(res.stderr).toContain(other);
    expect(res.stderr).toContain('https://github.com/example-fork/rekor-tiles/.github/workflows/build_container.yml');
    expect(res.stderr).toContain(
      'https://github.com/sigstore/timestamp-authority/.github/workflows/build_container.yml@refs/tags/1',
    );
    expect(existsSync(path.join(out, 'bundle.json'))).toBe(false);
  });

  it('a fresh log’s first entry is the signed install receipt: log get --index 0 shows it, openssl and log get verify it', async () => {
    const r = needRig();
    const instance = `rcpt${Date.now().toString(36).slice(-5)}`;
    const data = path.join(dir, 'data', instance);
    const install = await runOffline(r, [
      'bundle', 'install', bundle, '--trust', key.pub, '--instance', instance, '--data-dir', data,
      '--hostname', 'rekor.receipt.internal', '--port', String(freeOfflinePort(r)), '--json',
    ]); // prettier-ignore
    try {
      expect(install.exitCode, install.stderr).toBe(0);
      expect(JSON.parse(install.stdout).receipt.logIndex).toBe(0);
      const firstEntry = (...more: string[]) =>
        runOffline(r, ['log', 'get', '--instance', instance, '--data-dir', data, '--index', '0', ...more]);
      const get = await firstEntry('--json');
      expect(get.exitCode, get.stderr).toBe(0);
      const entry = JSON.parse(get.stdout);
      const statement = readFileSync(path.join(data, 'receipt/install-receipt.json'));
      expect(entry.digest).toBe(`sha256:${sha256(statement)}`);
      expect(entry.receipt).toMatchObject({
        instance,
        profile: 'rekor-v2',
        bundleSha256: sha256(readFileSync(path.join(bundle, 'bundle.json'))),
      });
      const rekor = entry.receipt.images.find((i: { ref: string }) => i.ref === image('rekor').ref);
      expect(rekor).toMatchObject({ digest: image('rekor').digest, imageId: image('rekor').configDigest });
      expect(rekor.provenance).toContain(
        'verified: https://slsa.dev/provenance/v1 signed by https://github.com/sigstore/rekor-tiles/',
      );
      // The statement's checkpoint is the log's first: size 0, signed by the log.
      expect(JSON.parse(statement.toString()).predicate.log.checkpoint).toMatch(/^rekor\.receipt\.internal\n0\n/);
      // An auditor with the three files and openssl, without this tool.
      const sig = path.join(dir, `${instance}.sig.der`);
      writeFileSync(sig, Buffer.from(readFileSync(path.join(data, 'receipt/install-receipt.sig'), 'utf8'), 'base64'));
      const ossl = spawnSync('openssl', ['dgst', '-sha256', '-verify', path.join(data, 'receipt/install-key.pub'), '-signature', sig, path.join(data, 'receipt/install-receipt.json')], { encoding: 'utf8' }); // prettier-ignore
      expect(ossl.stdout.trim(), ossl.stderr).toBe('Verified OK');
      // An edited receipt no longer matches the log's first entry.
      const edited = path.join(dir, `${instance}-edited`);
      cpSync(path.join(data, 'receipt'), edited, { recursive: true });
      writeFileSync(
        path.join(edited, 'install-receipt.json'),
        statement.toString().replace('"rekor-v2"', '"rekor-v1"'),
      );
      const bad = await firstEntry('--receipt', edited);
      expect(bad.exitCode).toBe(3);
      expect(bad.stderr).toContain('RECEIPT_INVALID');
    } finally {
      await runOffline(r, ['bundle', 'uninstall', '--instance', instance, '--data-dir', data, '--purge']);
    }
  });

  it('a carried attestation swapped for another image’s, even re-signed with the bundle key, fails before anything loads', async () => {
    const r = needRig();
    const swapped = path.join(dir, 'swapped');
    cpSync(bundle, swapped, { recursive: true });
    const rekor = image('rekor').provenance as { attestations: string[] };
    const tsa = image('tsa').provenance as { attestations: string[] };
    cpSync(path.join(swapped, tsa.attestations[0]!), path.join(swapped, rekor.attestations[0]!));
    await resign(swapped, key, [rekor.attestations[0]!]);
    const verify = await runOffline(r, ['bundle', 'verify', swapped, '--trust', key.pub]);
    expect(verify.exitCode).toBe(3);
    // The timestamp authority's attestation is another workflow's: refused before its subject is read.
    expect(verify.stderr).toContain('PROVENANCE_IDENTITY_MISMATCH');
    expect(verify.stderr).toContain(rekor.attestations[0]!);
    const instance = `prov${Date.now().toString(36).slice(-5)}`;
    const install = await runOffline(r, [
      'bundle', 'install', swapped, '--trust', key.pub, '--instance', instance,
      '--data-dir', path.join(dir, 'data', instance), '--hostname', 'rekor.prov.internal',
      '--port', String(freeOfflinePort(r)),
    ]); // prettier-ignore
    expect(install.exitCode, install.stderr).toBe(3);
    expect(install.stderr).toContain('PROVENANCE_IDENTITY_MISMATCH');
    expect(install.stderr + install.stdout).not.toContain('into the engine');
    expect(projectContainerNames(r, `rekor-airgap-${instance}`)).toEqual([]);
  });
});

type BundleImage = BundleManifest['images'][number];

/** bundle.json listing the files as they now are, signed again with the bundle key (an insider with the key). */
async function resign(dir: string, key: SigningKey, changed: string[]): Promise<void> {
  const m: BundleManifest = JSON.parse(readFileSync(path.join(dir, 'bundle.json'), 'utf8'));
  for (const f of m.files.filter((x) => changed.includes(x.path))) {
    const bytes = readFileSync(path.join(dir, f.path));
    f.size = bytes.length;
    f.sha256 = sha256(bytes);
  }
  const text = serializeManifest(m);
  writeFileSync(path.join(dir, 'bundle.json'), text);
  const signing = await loadSigningKey(key.key, await readPassphrase(key.passphraseFile));
  writeFileSync(path.join(dir, 'bundle.json.sig'), signDetached(Buffer.from(text), signing));
}
