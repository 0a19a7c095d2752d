// Loads a bundle's images into the engine at DOCKER_HOST the way bundle install does (verified
// blobs streamed as a docker-archive), for the benchmark. node bench/load-child.mjs BUNDLE_DIR
import path from 'node:path';
const root = path.resolve(import.meta.dirname, '..');
const { connectEngine } = await import(path.join(root, 'dist/engine/docker.js'));
const { loadProfileImages } = await import(path.join(root, 'dist/deploy/load-images.js'));
const { readVerifiedFile } = await import(path.join(root, 'dist/bundle/verify-dir.js'));
const { parseManifest } = await import(path.join(root, 'dist/bundle/manifest.js'));
const { silentProgress } = await import(path.join(root, 'dist/util/progress.js'));
const { readFileSync } = await import('node:fs');
const dir = path.resolve(process.argv[2]);
const manifest = parseManifest(readFileSync(path.join(dir, 'bundle.json'), 'utf8'), 'bundle.json');
const t = process.hrtime.bigint();
const r = await loadProfileImages(connectEngine(), {
  bundleDir: dir,
  manifest,
  images: manifest.images,
  progress: silentProgress,
  readVerified: (rel) => readVerifiedFile(dir, manifest, rel),
});
// The load step itself: an install pays the process start once, for all its steps.
console.log(JSON.stringify({ ...r, seconds: Number(process.hrtime.bigint() - t) / 1e9 }));
