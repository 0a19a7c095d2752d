// Builds a test image of random, incompressible layers as an OCI layout and pushes it to the
// rig's registry (127.0.0.1:5000/bench/random:TAG) with skopeo. Layers are uncompressed tars of
// one file each, so their bytes are the size asked for. Cached: a tag already in the registry is
// left alone.
//   node bench/make-image.mjs SIZE_MIB TAG [LAYERS]
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync, renameSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import os from 'node:os';

const [sizeMib, tag, layersArg] = process.argv.slice(2);
const REGISTRY = process.env.BENCH_REGISTRY ?? '127.0.0.1:5000';
const ref = `${REGISTRY}/bench/random:${tag}`;
if (
  spawnSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], { stdio: 'ignore' }).status === 0
) {
  console.log(`${ref} already in the registry`);
  process.exit(0);
}
const layers = Number(layersArg ?? 4);
const total = Number(sizeMib) * 1024 * 1024;
const dir = path.join(os.tmpdir(), `bench-image-${tag}-${process.pid}`);
mkdirSync(path.join(dir, 'blobs/sha256'), { recursive: true });

function tarHeader(name, size) {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100, 8, 'ascii');
  h.write('0000000\0', 108, 8, 'ascii');
  h.write('0000000\0', 116, 8, 'ascii');
  h.write(size.toString(8).padStart(11, '0') + '\0', 124, 12, 'ascii');
  h.write('00000000000\0', 136, 12, 'ascii');
  h.fill(0x20, 148, 156);
  h.write('0', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

function blob(bytesOrWriter) {
  const tmp = path.join(dir, 'blobs/sha256/tmp');
  const fd = openSync(tmp, 'w');
  const h = createHash('sha256');
  let size = 0;
  const put = (b) => {
    writeSync(fd, b);
    h.update(b);
    size += b.length;
  };
  if (Buffer.isBuffer(bytesOrWriter)) put(bytesOrWriter);
  else bytesOrWriter(put);
  closeSync(fd);
  const hex = h.digest('hex');
  renameSync(tmp, path.join(dir, 'blobs/sha256', hex));
  return { digest: `sha256:${hex}`, size };
}

const layerDescs = [];
const buf = Buffer.alloc(4 * 1024 * 1024);
for (let i = 0; i < layers; i++) {
  const fileSize = Math.floor(total / layers);
  layerDescs.push({
    mediaType: 'application/vnd.oci.image.layer.v1.tar',
    ...blob((put) => {
      put(tarHeader(`layer-${i}.bin`, fileSize));
      for (let w = 0; w < fileSize; w += buf.length)
        put(randomFillSync(buf).subarray(0, Math.min(buf.length, fileSize - w)));
      const pad = (512 - (fileSize % 512)) % 512;
      if (pad) put(Buffer.alloc(pad));
      put(Buffer.alloc(1024));
    }),
  });
}
const config = {
  architecture: 'amd64',
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: layerDescs.map((l) => l.digest) },
  config: { Cmd: ['/layer-0.bin'] },
};
const configDesc = {
  mediaType: 'application/vnd.oci.image.config.v1+json',
  ...blob(Buffer.from(JSON.stringify(config))),
};
const manifest = {
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: configDesc,
  layers: layerDescs,
};
const manifestDesc = {
  mediaType: manifest.mediaType,
  ...blob(Buffer.from(JSON.stringify(manifest))),
  annotations: { 'org.opencontainers.image.ref.name': tag },
};
writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [manifestDesc] }));
execFileSync('skopeo', ['copy', '--dest-tls-verify=false', `oci:${dir}:${tag}`, `docker://${ref}`], {
  stdio: 'inherit',
});
rmSync(dir, { recursive: true, force: true });
console.log(`pushed ${ref}: ${layers} layers, ${sizeMib} MiB`);
