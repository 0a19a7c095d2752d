import { describe, expect, it } from 'vitest';
import type { AirgapError } from '../../../src/errors.js';
import { publishTiles } from '../../helpers/mini-tiles-log.js';
import {
  memorySubtreeHasher,
  rfc6962ConsistencyProof,
  rfc6962LeafHash,
  verifyRfc9162Consistency,
} from '../../../src/rekor/merkle.js';
import { encodeTileIndex, TiledTree, tilePath, verifyConsistencyFromTiles } from '../../../src/rekor/tiles.js';

describe('tlog-tiles paths (c2sp.org/tlog-tiles)', () => {
  it('encodes indices in groups of three digits with x prefixes', () => {
    expect(encodeTileIndex(0)).toBe('000');
    expect(encodeTileIndex(1234067)).toBe('x001/x234/067');
    expect(tilePath(0, 1234067, 256)).toBe('tile/0/x001/x234/067');
    expect(tilePath(1, 5, 17)).toBe('tile/1/005.p/17');
  });
});

/** The tree as tiles in memory, the way a tiles log lays them out. */
const publish = publishTiles;

describe('TiledTree', () => {
  for (const size of [1, 7, 256, 257, 1000, 65_536 + 300]) {
    it(`gives the same subtree hashes and proofs as the tree itself (size ${size})`, async () => {
      const leaves = Array.from({ length: size }, (_, i) =>
        rfc6962LeafHash(new Uint8Array([i & 0xff, (i >> 8) & 0xff, i >> 16])),
      );
      const tiles = publish(leaves);
      const fetched: string[] = [];
      const tree = new TiledTree(size, async (p) => {
        fetched.push(p);
        const t = tiles.get(p);
        if (!t) throw new Error(`no tile ${p}`);
        return t;
      });
      const mem = memorySubtreeHasher(leaves);
      expect(Buffer.from(await tree.subtreeHash(0, size))).toEqual(Buffer.from(await mem(0, size)));
      const m = Math.max(1, Math.floor(size / 3));
      const proof = await rfc6962ConsistencyProof(m, size, tree.subtreeHash);
      expect(proof.map((h) => Buffer.from(h).toString('hex'))).toEqual(
        (await rfc6962ConsistencyProof(m, size, mem)).map((h) => Buffer.from(h).toString('hex')),
      );
      verifyRfc9162Consistency(m, size, proof, await mem(0, m), await mem(0, size));
      if (size > 65_536) expect(fetched.some((p) => p.startsWith('tile/1/'))).toBe(true);
    });
  }

  it('fails when a tile is tampered with', async () => {
    const leaves = Array.from({ length: 300 }, (_, i) => rfc6962LeafHash(new Uint8Array([i & 0xff, i >> 8])));
    const tiles = publish(leaves);
    const t0 = tiles.get('tile/0/001.p/44')!;
    t0[40] = t0[40]! ^ 1;
    const tree = new TiledTree(300, async (p) => tiles.get(p)!);
    expect(Buffer.from(await tree.subtreeHash(0, 300))).not.toEqual(
      Buffer.from(await memorySubtreeHasher(leaves)(0, 300)),
    );
  });
});

describe("the smoke test's consistency step, from the log's tiles (verifyConsistencyFromTiles)", () => {
  const leaves = Array.from({ length: 600 }, (_, i) => rfc6962LeafHash(new Uint8Array([i & 0xff, i >> 8, 7])));
  const mem = memorySubtreeHasher(leaves);
  const checkpoint = async (size: number) => ({ size, rootHash: await mem(0, size) });
  const fetchFrom = (tiles: Map<string, Uint8Array>) => async (p: string) => {
    const t = tiles.get(p);
    if (!t) throw new Error(`no tile ${p}`);
    return t;
  };

  it('passes for an honest log that grew from 300 to 600 entries', async () => {
    const n = await verifyConsistencyFromTiles(
      await checkpoint(300),
      await checkpoint(600),
      fetchFrom(publish(leaves)),
    );
    expect(n).toBeGreaterThan(0);
  });

  it('a tampered tile (one bit of one hash, in any tile the check reads) is refused (exit 12)', async () => {
    const read: string[] = [];
    const honest = publish(leaves);
    await verifyConsistencyFromTiles(await checkpoint(300), await checkpoint(600), async (p) => {
      read.push(p);
      return fetchFrom(honest)(p);
    });
    expect(read.length).toBeGreaterThanOrEqual(3);
    for (const path of new Set(read)) {
      const tiles = publish(leaves);
      const t = tiles.get(path)!;
      t[t.length - 1] = t[t.length - 1]! ^ 1;
      // A tile under the new root fails the root check; one only the old subtree reads makes a
      // proof that does not verify.
      const e = await verifyConsistencyFromTiles(await checkpoint(300), await checkpoint(600), fetchFrom(tiles)).then(
        () => undefined,
        (x: AirgapError) => x,
      );
      expect(['SMOKE_PROOF_TILES', 'MERKLE_CONSISTENCY_INVALID'], path).toContain(e?.code);
      expect(e!.exitCode).toBe(12);
    }
  });

  it('an older checkpoint the tiles do not extend (a fork) is refused: MERKLE_CONSISTENCY_INVALID', async () => {
    const forked = { size: 300, rootHash: new Uint8Array(await mem(0, 300)) };
    forked.rootHash[0] = forked.rootHash[0]! ^ 1;
    await expect(
      verifyConsistencyFromTiles(forked, await checkpoint(600), fetchFrom(publish(leaves))),
    ).rejects.toMatchObject({ code: 'MERKLE_CONSISTENCY_INVALID' });
  });

  it('tiles of another log (same size, other leaves) are refused', async () => {
    const other = publish(leaves.map((l, i) => (i === 450 ? rfc6962LeafHash(new Uint8Array([9, 9, 9])) : l)));
    await expect(
      verifyConsistencyFromTiles(await checkpoint(300), await checkpoint(600), fetchFrom(other)),
    ).rejects.toMatchObject({ code: 'SMOKE_PROOF_TILES' });
  });
});

describe('re-deriving a whole tree from its tiles', () => {
  it('accepts what a log publishes, and names a changed entry', async () => {
    const { createHash } = await import('node:crypto');
    const { rederiveTreeFromTiles, entryBundlePath } = await import('../../../src/rekor/tiles.js');
    const { rfc6962LeafHash, memorySubtreeHasher } = await import('../../../src/rekor/merkle.js');
    const { publishTiles } = await import('../../helpers/mini-tiles-log.js');
    for (const size of [1, 255, 256, 300, 600]) {
      const entries = Array.from({ length: size }, (_, i) =>
        createHash('sha256')
          .update(`e${i}`)
          .digest()
          .subarray(0, 10 + (i % 7)),
      );
      const leaves = entries.map((e) => rfc6962LeafHash(e));
      const files = publishTiles(leaves);
      for (let k = 0; k * 256 < size; k++) {
        const slice = entries.slice(k * 256, k * 256 + 256);
        files.set(
          entryBundlePath(k, slice.length),
          Buffer.concat(slice.flatMap((e) => [Buffer.from([e.length >> 8, e.length & 0xff]), e])),
        );
      }
      const root = await memorySubtreeHasher(leaves)(0, size);
      const fetch = async (p: string) => {
        const b = files.get(p);
        if (!b) throw new Error(`no ${p}`);
        return b;
      };
      expect(await rederiveTreeFromTiles({ size, rootHash: root }, fetch)).toEqual({
        leaves: size,
        entryBundles: Math.ceil(size / 256),
      });
      const last = entryBundlePath(Math.floor((size - 1) / 256), ((size - 1) % 256) + 1);
      const bad = Buffer.from(files.get(last)!);
      bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
      const tampered = async (p: string) => (p === last ? bad : fetch(p));
      await expect(rederiveTreeFromTiles({ size, rootHash: root }, tampered)).rejects.toMatchObject({
        code: 'SMOKE_PROOF_TILES',
      });
    }
  });
});
