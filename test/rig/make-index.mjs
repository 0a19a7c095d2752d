// Publishes DEST as a multi-platform OCI index: linux/amd64 = the manifest of SRC, and a linux/arm64
// entry that shares SRC's layers, adds a small marker layer and says "arm64" in its config.
// The arm64 entry is not runnable; it exists so platform selection can be tested.
// usage: node make-index.mjs REGISTRY SRC_REPO:TAG DEST_REPO:TAG
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

const [registry, src, dest] = process.argv.slice(2);
const base = `http://${registry}/v2`;
const [srcRepo, srcTag] = src.split(':');
const [destRepo, destTag] = dest.split(':');
const sha = (b) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
].join(', ');

async function must(res, what) {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

async function putBlob(repo, bytes) {
  const digest = sha(bytes);
  const head = await fetch(`${base}/${repo}/blobs/${digest}`, { method: 'HEAD' });
  if (head.ok) return digest;
  const start = await must(await fetch(`${base}/${repo}/blobs/uploads/`, { method: 'POST' }), 'start upload');
  const loc = new URL(start.headers.get('location'), `http://${registry}`);
  loc.searchParams.set('digest', digest);
  await must(
    await fetch(loc, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } }),
    'upload blob',
  );
  return digest;
}

async function mount(digest) {
  const res = await fetch(`${base}/${destRepo}/blobs/uploads/?mount=${digest}&from=${srcRepo}`, { method: 'POST' });
  if (res.status !== 201) throw new Error(`mount ${digest}: HTTP ${res.status}`);
}

async function putManifest(ref, bytes, mediaType) {
  await must(
    await fetch(`${base}/${destRepo}/manifests/${ref}`, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': mediaType },
    }),
    `put manifest ${ref}`,
  );
  return sha(bytes);
}

// A deterministic one-file tar: /etc/rig-platform
function markerTar(text) {
  const body = Buffer.from(text);
  const h = Buffer.alloc(512);
  const w = (s, off, len) => h.write(s, off, len, 'ascii');
  w('etc/rig-platform', 0, 100);
  w('0000644\0', 100, 8);
  w('0000000\0', 108, 8);
  w('0000000\0', 116, 8);
  w(body.length.toString(8).padStart(11, '0') + '\0', 124, 12);
  w('00000000000\0', 136, 12);
  w('        ', 148, 8);
  w('0', 156, 1);
  w('ustar\0', 257, 6);
  w('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  w(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([h, body, pad, Buffer.alloc(1024)]);
}

const amdRes = await must(
  await fetch(`${base}/${srcRepo}/manifests/${srcTag}`, { headers: { accept: ACCEPT } }),
  'get source manifest',
);
const amdBytes = Buffer.from(await amdRes.arrayBuffer());
const amd = JSON.parse(amdBytes);
const amdConfig = JSON.parse(
  Buffer.from(
    await (await must(await fetch(`${base}/${srcRepo}/blobs/${amd.config.digest}`), 'get config')).arrayBuffer(),
  ),
);
for (const d of [amd.config.digest, ...amd.layers.map((l) => l.digest)]) await mount(d);
const amdDigest = await putManifest(sha(amdBytes), amdBytes, amd.mediaType);

const tar = markerTar('linux/arm64\n');
const tgz = gzipSync(tar, { level: 9 });
const layerDigest = await putBlob(destRepo, tgz);
const armConfig = structuredClone(amdConfig);
armConfig.architecture = 'arm64';
armConfig.variant = 'v8';
armConfig.rootfs.diff_ids = [...armConfig.rootfs.diff_ids, sha(tar)];
const armConfigBytes = Buffer.from(JSON.stringify(armConfig));
const armConfigDigest = await putBlob(destRepo, armConfigBytes);
const arm = {
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    digest: armConfigDigest,
    size: armConfigBytes.length,
  },
  layers: [
    ...amd.layers.map((l) => ({ ...l, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' })),
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: tgz.length },
  ],
};
const armBytes = Buffer.from(JSON.stringify(arm));
const armDigest = await putManifest(sha(armBytes), armBytes, arm.mediaType);

const index = {
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests: [
    {
      mediaType: amd.mediaType,
      digest: amdDigest,
      size: amdBytes.length,
      platform: { architecture: 'amd64', os: 'linux' },
    },
    {
      mediaType: arm.mediaType,
      digest: armDigest,
      size: armBytes.length,
      platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
    },
  ],
};
const indexBytes = Buffer.from(JSON.stringify(index));
await putManifest(destTag, indexBytes, index.mediaType);
console.log(`${dest} -> ${sha(indexBytes)} (amd64 ${amdDigest}, arm64 ${armDigest})`);
