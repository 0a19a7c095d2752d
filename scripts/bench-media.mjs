// Benchmark of the media path: peak memory and throughput of pack and verify for a small and a
// large bundle, against coreutils sha256sum over the same bytes. Run after `npm run build`:
//   node scripts/bench-media.mjs [--large-gib 4] [--small-mib 100]
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : def; };
const largeBytes = opt('--large-gib', 4) * 1024 ** 3;
const smallBytes = opt('--small-mib', 100) * 1024 ** 2;
const root = path.join(os.tmpdir(), `rekor-airgap-bench-${process.pid}`);
const child = path.join(import.meta.dirname, 'bench-child.mjs');

function makeBundle(dir, bytes, key) {
  mkdirSync(path.join(dir, 'images/blobs/sha256'), { recursive: true });
  const block = randomBytes(1024 * 1024);
  const files = [];
  let left = bytes;
  let n = 0;
  while (left > 0) {
    // layers of at most 512 MiB, like real images' largest layers
    const size = Math.min(left, 512 * 1024 ** 2);
    const rel = `images/blobs/sha256/layer${n++}`;
    const fd = openSync(path.join(dir, rel), 'w');
    const h = createHash('sha256');
    for (let w = 0; w < size; w += block.length) {
      const part = block.subarray(0, Math.min(block.length, size - w));
      part[0] = (w / block.length) & 0xff; // not all blocks alike
      writeSync(fd, part);
      h.update(part);
    }
    closeSync(fd);
    files.push({ path: rel, size, sha256: h.digest('hex') });
    left -= size;
  }
  const manifest = { createdAt: '2026-01-01T00:00:00.000Z', files, formatVersion: 1, images: [], platform: 'linux/amd64', profiles: ['rekor-v2'], tool: { name: 'rekor-airgap', version: 'bench' } };
  const text = JSON.stringify(manifest, null, 2) + '\n';
  writeFileSync(path.join(dir, 'bundle.json'), text);
  const sig = execFileSync(process.execPath, [child, 'sign', key.priv, path.join(dir, 'bundle.json')], { encoding: 'utf8' });
  writeFileSync(path.join(dir, 'bundle.json.sig'), sig);
}

function measure(op, ...a) {
  const r = spawnSync(process.execPath, [child, op, ...a], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${op} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function sha256sumSeconds(dir) {
  const files = readdirSync(dir).filter((f) => f.startsWith('bundle.tar')).map((f) => path.join(dir, f));
  const t = process.hrtime.bigint();
  execFileSync('sha256sum', files, { stdio: 'ignore' });
  return Number(process.hrtime.bigint() - t) / 1e9;
}

mkdirSync(root, { recursive: true });
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const key = { priv: path.join(root, 'k.pem'), pub: path.join(root, 'k.pub') };
writeFileSync(key.priv, privateKey.export({ type: 'pkcs8', format: 'pem' }));
writeFileSync(key.pub, publicKey.export({ type: 'spki', format: 'pem' }));
const rows = [];
try {
  for (const [label, bytes] of [['small', smallBytes], ['large', largeBytes]]) {
    const dir = path.join(root, label);
    makeBundle(dir, bytes, key);
    const media = path.join(root, `${label}-media`);
    const pack = measure('pack', dir, media, key.priv);
    const verify = measure('verify', media, key.pub);
    const sum = sha256sumSeconds(media);
    const gib = bytes / 1024 ** 3;
    rows.push({ label, size: `${(bytes / 1024 ** 2).toFixed(0)} MiB`, packRssMiB: (pack.maxRss / 1024).toFixed(0), verifyRssMiB: (verify.maxRss / 1024).toFixed(0),
      packMiBs: (bytes / 1024 ** 2 / pack.seconds).toFixed(0), verifyMiBs: (bytes / 1024 ** 2 / verify.seconds).toFixed(0), sha256sumMiBs: (bytes / 1024 ** 2 / sum).toFixed(0), gib });
    rmSync(dir, { recursive: true, force: true });
    rmSync(media, { recursive: true, force: true });
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
console.table(rows);
const [s, l] = rows;
console.log(`peak RSS ratio large/small: pack ${(l.packRssMiB / s.packRssMiB).toFixed(2)}, verify ${(l.verifyRssMiB / s.verifyRssMiB).toFixed(2)}`);
