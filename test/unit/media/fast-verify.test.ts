/**
 * The fast verification path accepts a whole medium, and nothing else: whatever single byte of the
 * archive is changed, anywhere (header, content, padding, end marker), it says "not all good" and
 * leaves the naming to the thorough pass.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Long runs (npm run fuzz) take minutes per property.
vi.setConfig({ testTimeout: 600_000 });
import { fastVerify } from '../../../src/media/fast-verify.js';
import { packBundle } from '../../../src/media/pack.js';
import { parseIndex } from '../../../src/media/transfer-index.js';
import { WorkerHasher } from '../../../src/util/hash-worker.js';
import { silentProgress } from '../../../src/util/progress.js';
import { tempDir } from '../../helpers/fixtures.js';
import { fc, params } from '../../helpers/fuzz.js';
import { syntheticBundle, testKey } from '../../helpers/synthetic-bundle.js';

let media: string;
let keys: Array<{ file: string; key: import('node:crypto').KeyObject }>;
let hasher: WorkerHasher;
let original: Buffer[];
let names: string[];

beforeAll(async () => {
  const root = tempDir('fast-');
  const key = testKey(root, 'k');
  keys = [{ file: key.pubFile, key: key.publicKey }];
  const b = syntheticBundle(path.join(root, 'bundle'), key.privateKey, {
    'images/blobs/sha256/aaaa': 70_000,
    'images/blobs/sha256/bbbb': 3_000,
    'images/index.json': 200,
    'install.sh': 120,
    'installer/node': 40_000,
  });
  media = path.join(root, 'media');
  await packBundle({
    bundleDir: b.dir,
    outDir: media,
    chunkSize: 30_000,
    signingKey: key.privateKey,
    progress: silentProgress,
  });
  names = readdirSync(media)
    .filter((n) => n.startsWith('bundle.tar'))
    .sort();
  original = names.map((n) => readFileSync(path.join(media, n)));
  hasher = new WorkerHasher();
});
afterAll(async () => {
  await hasher.close();
});

const index = () => parseIndex(readFileSync(path.join(media, 'transfer-index.json'), 'utf8'), 'i');

describe('fastVerify', () => {
  it('a whole medium: all good, with the signed manifest', async () => {
    const r = await fastVerify(media, index(), keys, hasher, () => undefined);
    expect(r?.manifest.files.length).toBe(5);
  });

  it('any single byte changed anywhere: not all good', async () => {
    const total = original.reduce((a, b) => a + b.length, 0);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: total - 1 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
        let k = 0;
        let off = at;
        while (off >= original[k]!.length) {
          off -= original[k]!.length;
          k++;
        }
        const changed = Buffer.from(original[k]!);
        changed[off] = changed[off]! ^ xor;
        writeFileSync(path.join(media, names[k]!), changed);
        try {
          expect(await fastVerify(media, index(), keys, hasher, () => undefined), `byte ${at}`).toBeUndefined();
        } finally {
          writeFileSync(path.join(media, names[k]!), original[k]!);
        }
      }),
      { ...params(), numRuns: Math.max(100, Math.floor(Number(process.env.FUZZ_RUNS ?? 300) / 2)) },
    );
  });

  it('a signature from a key not trusted: not all good', async () => {
    const other = testKey(tempDir('other-'), 'o');
    expect(
      await fastVerify(media, index(), [{ file: other.pubFile, key: other.publicKey }], hasher, () => undefined),
    ).toBeUndefined();
  });
});
