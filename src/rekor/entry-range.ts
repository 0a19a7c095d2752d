/**
 * Reading a run of consecutive entries, each proved into one signed checkpoint — what a monitor
 * scans. Rekor v2: the entry bundles of the range are read, their leaves hashed, and the root of
 * the whole tree re-derived from those leaves together with the hash tiles for the rest; it must be
 * the checkpoint's root, so neither the entries nor the tiles can be swapped. The cost is the
 * range's bundles and level-0 tiles plus a few tiles per level, not the whole tree.
 * Rekor v1: each entry with the inclusion proof the log serves (src/rekor/entry-reader.ts).
 */
import { AirgapError } from '../errors.js';
import { readApiV1EntryBody } from './entry-reader.js';
import { hexRoot, tileFetcher, type LogHead } from './log-head.js';
import {
  bytesEqual,
  largestPowerOfTwoBelow,
  memorySubtreeHasher,
  rfc6962LeafHash,
  rfc6962NodeHash,
  type SubtreeHasher,
} from './merkle.js';
import type { LogTarget } from './target.js';
import { entryBundlePath, parseEntryBundle, TiledTree, TILE_WIDTH, type TileFetcher } from './tiles.js';

export interface RangeEntry {
  logIndex: number;
  body: Uint8Array;
}

function checkRange(head: LogHead, from: number, to: number): void {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from || to > head.size)
    throw new AirgapError('USAGE_INVALID', `entries [${from}, ${to}) are not in the log (tree size ${head.size})`);
}

/**
 * The root of the tree of `size` leaves, with the leaves [from, from + leaves.length) hashed from
 * `leafHashes` and every subtree outside them from `outside`.
 */
export function rootWithLeaves(
  size: number,
  from: number,
  leafHashes: readonly Uint8Array[],
  outside: SubtreeHasher,
): Promise<Uint8Array> {
  const to = from + leafHashes.length;
  const inside = memorySubtreeHasher(leafHashes);
  const hash = async (start: number, end: number): Promise<Uint8Array> => {
    if (start >= from && end <= to) return inside(start - from, end - from);
    if (end <= from || start >= to) return outside(start, end);
    const k = largestPowerOfTwoBelow(end - start);
    return rfc6962NodeHash(await hash(start, start + k), await hash(start + k, end));
  };
  return hash(0, size);
}

/** Rekor v2: the entries [from, to) from the entry bundles, proved into `head` (see above). */
export async function readTilesEntryRange(
  t: LogTarget,
  head: LogHead,
  from: number,
  to: number,
  fetchTile: TileFetcher = tileFetcher(t),
): Promise<RangeEntry[]> {
  checkRange(head, from, to);
  if (from === to) return [];
  const out: RangeEntry[] = [];
  for (let k = Math.floor(from / TILE_WIDTH); k * TILE_WIDTH < to; k++) {
    const width = Math.min(TILE_WIDTH, head.size - k * TILE_WIDTH);
    const path = entryBundlePath(k, width);
    const bundle = parseEntryBundle(await fetchTile(path), width, path);
    for (let i = Math.max(from, k * TILE_WIDTH); i < Math.min(to, k * TILE_WIDTH + width); i++)
      out.push({ logIndex: i, body: bundle[i - k * TILE_WIDTH]! });
  }
  const tree = new TiledTree(head.size, fetchTile);
  const root = await rootWithLeaves(
    head.size,
    from,
    out.map((e) => rfc6962LeafHash(e.body)),
    tree.subtreeHash,
  );
  if (!bytesEqual(root, hexRoot(head)))
    throw new AirgapError(
      'SMOKE_PROOF_TILES',
      `the entries ${from} to ${to - 1} with the hash tiles re-derive a root that is not the checkpoint's (size ${head.size}, root ${head.rootHex})`,
    );
  return out;
}

/** Rekor v1: the entries [from, to), each proved by the log's inclusion proof into a checkpoint it signed. */
export async function readApiV1EntryRange(
  t: LogTarget,
  head: LogHead,
  from: number,
  to: number,
): Promise<RangeEntry[]> {
  checkRange(head, from, to);
  const out: RangeEntry[] = [];
  for (let i = from; i < to; i++) {
    const e = await readApiV1EntryBody(t, i, head);
    out.push({ logIndex: i, body: e.body });
  }
  return out;
}
