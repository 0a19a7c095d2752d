/**
 * Reading a tree from C2SP tlog-tiles (https://c2sp.org/tlog-tiles): tile paths, and subtree
 * hashes computed from the tiles a log publishes, so proofs can be built without the log's help.
 */
import { AirgapError } from '../errors.js';
import {
  bytesEqual,
  HASH_SIZE,
  largestPowerOfTwoBelow,
  memorySubtreeHasher,
  rfc6962ConsistencyProof,
  rfc6962LeafHash,
  rfc6962NodeHash,
  verifyRfc9162Consistency,
  type SubtreeHasher,
} from './merkle.js';

export const TILE_WIDTH = 256;
const TILE_HEIGHT = 8;

/** tlog-tiles index encoding: 1234067 → "x001/x234/067". */
export function encodeTileIndex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new AirgapError('SMOKE_TILE_INDEX', `bad tile index ${n}`);
  const groups: string[] = [];
  let rest = n;
  do {
    groups.unshift(String(rest % 1000).padStart(3, '0'));
    rest = Math.floor(rest / 1000);
  } while (rest > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/** Path of hash tile (level, index), partial when width < 256. */
export function tilePath(level: number, index: number, width: number = TILE_WIDTH): string {
  const base = `tile/${level}/${encodeTileIndex(index)}`;
  return width === TILE_WIDTH ? base : `${base}.p/${width}`;
}

export type TileFetcher = (path: string) => Promise<Uint8Array>;

/**
 * A tree of `size` leaves as published in tiles. Each level-L tile holds the hashes of nodes at
 * height 8L; other subtrees are hashed from those.
 */
export class TiledTree {
  private readonly cache = new Map<string, Promise<Uint8Array>>();

  constructor(
    readonly size: number,
    private readonly fetchTile: TileFetcher,
  ) {}

  /** Hash of the complete subtree at height 8*level, position `index` at that height. */
  private async storedNode(level: number, index: number): Promise<Uint8Array> {
    const tileIndex = Math.floor(index / TILE_WIDTH);
    const nodesAtLevel = Math.floor(this.size / 2 ** (TILE_HEIGHT * level));
    const width = Math.min(TILE_WIDTH, nodesAtLevel - tileIndex * TILE_WIDTH);
    if (width <= 0)
      throw new AirgapError(
        'SMOKE_TILE_RANGE',
        `node ${index} at level ${level} is beyond the tree of size ${this.size}`,
      );
    const path = tilePath(level, tileIndex, width);
    let tile = this.cache.get(path);
    if (!tile) {
      tile = this.fetchTile(path);
      this.cache.set(path, tile);
    }
    const bytes = await tile;
    const pos = index % TILE_WIDTH;
    if (bytes.length < (pos + 1) * HASH_SIZE) {
      throw new AirgapError(
        'SMOKE_TILE_SHORT',
        `tile ${path} has ${bytes.length} bytes, needs at least ${(pos + 1) * HASH_SIZE}`,
      );
    }
    return bytes.slice(pos * HASH_SIZE, (pos + 1) * HASH_SIZE);
  }

  /** Hash of the perfect subtree of 2^height leaves starting at leaf `start` (aligned). */
  private async perfect(start: number, height: number): Promise<Uint8Array> {
    if (height % TILE_HEIGHT === 0) {
      return this.storedNode(height / TILE_HEIGHT, start / 2 ** height);
    }
    const half = 2 ** (height - 1);
    return rfc6962NodeHash(await this.perfect(start, height - 1), await this.perfect(start + half, height - 1));
  }

  readonly subtreeHash: SubtreeHasher = async (start, end) => {
    const n = end - start;
    if (n <= 0 || end > this.size)
      throw new AirgapError('SMOKE_TILE_RANGE', `subtree [${start}, ${end}) is outside the tree of size ${this.size}`);
    const height = Math.log2(n);
    if (Number.isInteger(height) && start % n === 0) return this.perfect(start, height);
    const k = largestPowerOfTwoBelow(n);
    return rfc6962NodeHash(await this.subtreeHash(start, start + k), await this.subtreeHash(start + k, end));
  };
}

/**
 * Proves that checkpoint 2 extends checkpoint 1 from the log's own tiles: the tiles must hash to
 * checkpoint 2's root, and the RFC 6962 consistency proof computed from them must verify between
 * the two roots. Returns the proof's length.
 */
export async function verifyConsistencyFromTiles(
  cp1: { size: number; rootHash: Uint8Array },
  cp2: { size: number; rootHash: Uint8Array },
  fetch: TileFetcher,
): Promise<number> {
  const tree = new TiledTree(cp2.size, fetch);
  const root = await tree.subtreeHash(0, cp2.size);
  if (!bytesEqual(root, cp2.rootHash))
    throw new AirgapError(
      'SMOKE_PROOF_TILES',
      `the tiles hash to a root that is not the checkpoint's (size ${cp2.size})`,
    );
  const proof = await rfc6962ConsistencyProof(cp1.size, cp2.size, tree.subtreeHash);
  verifyRfc9162Consistency(cp1.size, cp2.size, proof, cp1.rootHash, cp2.rootHash);
  return proof.length;
}

/** Path of entry bundle `index` holding `width` entries (tlog-tiles `tile/entries/...`). */
export function entryBundlePath(index: number, width: number = TILE_WIDTH): string {
  const base = `tile/entries/${encodeTileIndex(index)}`;
  return width === TILE_WIDTH ? base : `${base}.p/${width}`;
}

/** The entries of an entry bundle: each a big-endian uint16 length and that many bytes. */
export function parseEntryBundle(bytes: Uint8Array, expected: number, path: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (off + 2 > bytes.length)
      throw new AirgapError('SMOKE_TILE_SHORT', `entry bundle ${path} ends inside a length prefix`);
    const n = (bytes[off]! << 8) | bytes[off + 1]!;
    off += 2;
    if (off + n > bytes.length)
      throw new AirgapError('SMOKE_TILE_SHORT', `entry bundle ${path} ends inside entry ${out.length}`);
    out.push(bytes.subarray(off, off + n));
    off += n;
  }
  if (out.length !== expected)
    throw new AirgapError(
      'SMOKE_PROOF_TILES',
      `entry bundle ${path} holds ${out.length} entries, the tree needs ${expected}`,
    );
  return out;
}

export interface RederivedTree {
  leaves: number;
  entryBundles: number;
}

/**
 * Re-derives a whole tree from what the log publishes: every entry of every entry bundle hashed as
 * a leaf, the root of those leaves, and the root of the hash tiles — both must be the checkpoint's.
 */
export async function rederiveTreeFromTiles(
  cp: { size: number; rootHash: Uint8Array },
  fetch: TileFetcher,
): Promise<RederivedTree> {
  const leaves: Uint8Array[] = [];
  const bundles = Math.ceil(cp.size / TILE_WIDTH);
  for (let k = 0; k < bundles; k++) {
    const width = Math.min(TILE_WIDTH, cp.size - k * TILE_WIDTH);
    const p = entryBundlePath(k, width);
    for (const e of parseEntryBundle(await fetch(p), width, p)) leaves.push(rfc6962LeafHash(e));
  }
  if (cp.size > 0) {
    const fromEntries = await memorySubtreeHasher(leaves)(0, cp.size);
    if (!bytesEqual(fromEntries, cp.rootHash))
      throw new AirgapError(
        'SMOKE_PROOF_TILES',
        `the entries hash to a root that is not the checkpoint's (size ${cp.size})`,
      );
    const fromTiles = await new TiledTree(cp.size, fetch).subtreeHash(0, cp.size);
    if (!bytesEqual(fromTiles, cp.rootHash))
      throw new AirgapError(
        'SMOKE_PROOF_TILES',
        `the hash tiles hash to a root that is not the checkpoint's (size ${cp.size})`,
      );
  }
  return { leaves: leaves.length, entryBundles: bundles };
}
