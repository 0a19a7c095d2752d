/**
 * A small but real bundle directory (signed bundle.json listing every file) made without a
 * registry, for the media tests. Files are random bytes of the sizes asked for.
 */
import { generateKeyPairSync, randomBytes, createHash, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { serializeManifest, type BundleManifest } from '../../src/bundle/manifest.js';
import { signDetached } from '../../src/bundle/sign-detached.js';

export interface TestKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  pubFile: string;
}

export function testKey(dir: string, name: string): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pubFile = path.join(dir, `${name}.pub`);
  writeFileSync(pubFile, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateKey, publicKey, pubFile };
}

export function writeSignedManifest(
  dir: string,
  files: Record<string, Buffer>,
  key: KeyObject,
  images: BundleManifest['images'] = [],
): BundleManifest {
  const manifest: BundleManifest = {
    formatVersion: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    tool: { name: 'rekor-airgap', version: 'test' },
    platform: 'linux/amd64',
    profiles: ['rekor-v2'],
    images,
    files: Object.keys(files)
      .sort()
      .map((p) => ({ path: p, size: files[p]!.length, sha256: createHash('sha256').update(files[p]!).digest('hex') })),
  };
  const text = serializeManifest(manifest);
  writeFileSync(path.join(dir, 'bundle.json'), text);
  writeFileSync(path.join(dir, 'bundle.json.sig'), signDetached(Buffer.from(text), key));
  return manifest;
}

export function syntheticBundle(
  dir: string,
  key: KeyObject,
  sizes: Record<string, number> = {
    'images/blobs/sha256/aaaa': 300_000,
    'images/blobs/sha256/bbbb': 150_000,
    'images/index.json': 200,
    'install.sh': 120,
    'templates/rekor-v2/compose.yaml': 900,
    'installer/node': 200_000,
  },
): { dir: string; files: Record<string, Buffer>; manifest: BundleManifest } {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, Buffer> = {};
  for (const [p, size] of Object.entries(sizes)) {
    files[p] = randomBytes(size);
    mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    writeFileSync(path.join(dir, p), files[p]!, { mode: p.endsWith('.sh') || p.endsWith('/node') ? 0o755 : 0o644 });
  }
  return { dir, files, manifest: writeSignedManifest(dir, files, key) };
}

const sha256Of = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * A signed bundle holding one image (an OCI manifest, its config and the given layers in
 * images/blobs/sha256), for tests of `bundle push`. Nothing else is in it.
 */
export function syntheticImageBundle(
  dir: string,
  key: KeyObject,
  layers: Buffer[],
  ref = 'ghcr.io/example/app:v1',
): {
  dir: string;
  manifest: BundleManifest;
  manifestDigest: string;
  blobs: Array<{ digest: string; bytes: Buffer }>;
} {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
  );
  const desc = (mediaType: string, b: Buffer) => ({ mediaType, digest: sha256Of(b), size: b.length });
  const imageManifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: desc('application/vnd.oci.image.config.v1+json', config),
      layers: layers.map((l) => desc('application/vnd.oci.image.layer.v1.tar+gzip', l)),
    }),
  );
  const files: Record<string, Buffer> = {};
  for (const b of [config, ...layers, imageManifest]) files[`images/blobs/sha256/${sha256Of(b).slice(7)}`] = b;
  mkdirSync(path.join(dir, 'images/blobs/sha256'), { recursive: true });
  for (const [p, b] of Object.entries(files)) writeFileSync(path.join(dir, p), b);
  const manifestDigest = sha256Of(imageManifest);
  const manifest = writeSignedManifest(dir, files, key, [
    {
      name: 'app',
      ref,
      digest: manifestDigest,
      manifestDigest,
      layoutManifestDigest: manifestDigest,
      configDigest: sha256Of(config),
      platform: 'linux/amd64',
      size: config.length + imageManifest.length + layers.reduce((a, l) => a + l.length, 0),
      source: ref.split('/')[0]!,
      profiles: ['rekor-v2'],
    },
  ]);
  return {
    dir,
    manifest,
    manifestDigest,
    blobs: [config, ...layers].map((bytes) => ({ digest: sha256Of(bytes), bytes })),
  };
}
