// What Node itself takes to receive an image's layers from a registry, with no bundle around it:
// the floor under `bundle create`'s pull. All layers in parallel, like create and skopeo.
//   node bench/http-floor.mjs REGISTRY REPO TAG MODE [OUT_DIR]
// MODE: null (receive and drop), write (gathering writes + fsync, no hash), hash (the same, plus
// SHA-256 of each layer on this thread). Prints the wall time in seconds.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const [registry, repo, tag, mode = 'write', out = '/tmp/rekor-airgap-http-floor'] = process.argv.slice(2);
if (!registry || !repo || !tag || !['null', 'write', 'hash'].includes(mode)) {
  console.error('usage: node bench/http-floor.mjs REGISTRY REPO TAG null|write|hash [OUT_DIR]');
  process.exit(2);
}
const get = (url, headers = {}) =>
  new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
          res.resume();
          resolve(get(new URL(res.headers.location, url).toString()));
        } else resolve(res);
      })
      .on('error', reject);
  });
const body = async (res) => {
  const cs = [];
  for await (const c of res) cs.push(c);
  return Buffer.concat(cs);
};

const accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
const manifest = JSON.parse(
  (await body(await get(`http://${registry}/v2/${repo}/manifests/${tag}`, { accept }))).toString(),
);
await fsp.rm(out, { recursive: true, force: true });
await fsp.mkdir(out, { recursive: true });
const t = process.hrtime.bigint();
await Promise.all(
  manifest.layers.map(async ({ digest }) => {
    const res = await get(`http://${registry}/v2/${repo}/blobs/${digest}`);
    if (mode === 'null') {
      for await (const _ of res) {
        /* drop */
      }
      return;
    }
    const fh = await fsp.open(path.join(out, digest.slice('sha256:'.length)), 'w');
    const h = mode === 'hash' ? createHash('sha256') : undefined;
    let batch = [];
    let used = 0;
    for await (const c of res) {
      h?.update(c);
      batch.push(c);
      used += c.length;
      if (used >= 1024 * 1024) {
        await fh.writev(batch);
        batch = [];
        used = 0;
      }
    }
    if (used) await fh.writev(batch);
    await fh.sync();
    await fh.close();
    if (h && `sha256:${h.digest('hex')}` !== digest) throw new Error(`${digest}: digest mismatch`);
  }),
);
console.log(JSON.stringify({ mode, seconds: Number(process.hrtime.bigint() - t) / 1e9 }));
await fsp.rm(out, { recursive: true, force: true });
