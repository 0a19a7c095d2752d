// One measured operation for bench-media.mjs; prints {seconds, maxRss (KiB)}.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
const dist = new URL('../dist/', import.meta.url);
const { silentProgress } = await import(new URL('util/progress.js', dist));
const [op, ...a] = process.argv.slice(2);
if (op === 'sign') {
  const { signDetached } = await import(new URL('bundle/signing.js', dist));
  process.stdout.write(signDetached(readFileSync(a[1]), createPrivateKey(readFileSync(a[0]))));
  process.exit(0);
}
const t = process.hrtime.bigint();
if (op === 'pack') {
  const { packBundle } = await import(new URL('media/pack.js', dist));
  await packBundle({ bundleDir: a[0], outDir: a[1], chunkSize: 1024 ** 3, signingKey: createPrivateKey(readFileSync(a[2])), progress: silentProgress });
} else if (op === 'verify') {
  const { readMedia } = await import(new URL('media/read-media.js', dist));
  await readMedia({ mediaDir: a[0], keys: [{ file: a[1], key: createPublicKey(readFileSync(a[1])) }], progress: silentProgress });
}
console.log(JSON.stringify({ seconds: Number(process.hrtime.bigint() - t) / 1e9, maxRss: process.resourceUsage().maxRSS }));
