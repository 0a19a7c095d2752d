/**
 * RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification. Pure functions.
 * Sizes and indices are JS numbers (safe up to 2^53 entries; larger values are refused on parse).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { AirgapError } from '../errors.js';

export const HASH_SIZE = 32;

/** RFC 6962 2.1: leaf hash = SHA-256(0x00 || leaf). */
export function rfc6962LeafHash(leaf: Uint8Array): Uint8Array {
  const buf = new Uint8Array(leaf.length + 1);
  buf[0] = 0x00;
  buf.set(leaf, 1);
  return sha256(buf);
}

/** RFC 6962 2.1: interior node hash = SHA-256(0x01 || left || right). */
export function rfc6962NodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + left.length + right.length);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return sha256(buf);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** Largest power of two strictly smaller than n (n > 1). */
export function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

const isOdd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);

function checkHashes(proof: readonly Uint8Array[], what: string): void {
  proof.forEach((h, i) => {
    if (h.length !== HASH_SIZE) {
      throw new AirgapError('MERKLE_BAD_HASH_LENGTH', `${what}: hash ${i} is ${h.length} bytes, expected ${HASH_SIZE}`);
    }
  });
}

/**
 * RFC 9162 2.1.3.2: verifies that `leafHash` is at `index` in the tree of `size` leaves whose root
 * is `root`. Throws MERKLE_INCLUSION_INVALID when it is not.
 */
export function verifyRfc9162Inclusion(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  const fail = (why: string): never => {
    throw new AirgapError(
      'MERKLE_INCLUSION_INVALID',
      `inclusion proof of leaf ${index} in tree of size ${size} does not verify: ${why}`,
    );
  };
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0) fail('bad index or size');
  if (index >= size) fail(`index ${index} is not below size ${size}`);
  checkHashes(proof, 'inclusion proof');
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) fail('proof is longer than the tree is deep');
    if (isOdd(fn) || fn === sn) {
      r = rfc6962NodeHash(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = rfc6962NodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) fail('proof is shorter than the tree is deep');
  if (!bytesEqual(r, root)) fail('computed root differs from the checkpoint root');
}

/**
 * RFC 9162 2.1.4.2: verifies that the tree of `size2` with `root2` extends the tree of `size1` with
 * `root1`. Throws MERKLE_CONSISTENCY_INVALID when it does not.
 */
export function verifyRfc9162Consistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  const fail = (why: string): never => {
    throw new AirgapError(
      'MERKLE_CONSISTENCY_INVALID',
      `consistency proof from size ${size1} to ${size2} does not verify: ${why}`,
    );
  };
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0) fail('bad sizes');
  if (size2 < size1) fail('the second tree is smaller than the first');
  checkHashes(proof, 'consistency proof');
  if (size1 === size2) {
    if (proof.length !== 0) fail('proof must be empty for equal sizes');
    if (!bytesEqual(root1, root2)) fail('equal sizes with different roots');
    return;
  }
  if (size1 === 0) {
    if (proof.length !== 0) fail('proof must be empty from an empty tree');
    return;
  }
  if (proof.length === 0) fail('proof is empty');
  // When size1 is a power of two its root is a node of the larger tree and is not sent.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) fail('proof is too long');
    if (isOdd(fn) || fn === sn) {
      fr = rfc6962NodeHash(c, fr);
      sr = rfc6962NodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = rfc6962NodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) fail('proof is too short');
  if (!bytesEqual(fr, root1)) fail('computed first root differs');
  if (!bytesEqual(sr, root2)) fail('computed second root differs');
}

/** Hash of the subtree of leaves [start, end); supplied by whoever holds the tree (tiles, memory). */
export type SubtreeHasher = (start: number, end: number) => Promise<Uint8Array>;

/** RFC 6962 2.1: MTH of a list of leaf hashes held in memory, as a SubtreeHasher. */
export function memorySubtreeHasher(leafHashes: readonly Uint8Array[]): SubtreeHasher {
  const mth = (start: number, end: number): Uint8Array => {
    const n = end - start;
    if (n === 1) return leafHashes[start]!;
    const k = largestPowerOfTwoBelow(n);
    return rfc6962NodeHash(mth(start, start + k), mth(start + k, end));
  };
  return async (start, end) => mth(start, end);
}

/** RFC 6962 2.1.1: audit path of leaf m in the tree of size n. */
export async function rfc6962InclusionProof(m: number, n: number, hash: SubtreeHasher): Promise<Uint8Array[]> {
  const path = async (m0: number, start: number, end: number): Promise<Uint8Array[]> => {
    const size = end - start;
    if (size <= 1) return [];
    const k = largestPowerOfTwoBelow(size);
    if (m0 < k) return [...(await path(m0, start, start + k)), await hash(start + k, end)];
    return [...(await path(m0 - k, start + k, end)), await hash(start, start + k)];
  };
  if (m < 0 || m >= n) throw new AirgapError('MERKLE_BAD_INDEX', `leaf ${m} is not in a tree of size ${n}`);
  return path(m, 0, n);
}

/** RFC 6962 2.1.2: consistency proof between the trees of size m and n (0 < m <= n). */
export async function rfc6962ConsistencyProof(m: number, n: number, hash: SubtreeHasher): Promise<Uint8Array[]> {
  const subproof = async (m0: number, start: number, end: number, whole: boolean): Promise<Uint8Array[]> => {
    const size = end - start;
    if (m0 === size) return whole ? [] : [await hash(start, end)];
    const k = largestPowerOfTwoBelow(size);
    if (m0 <= k) return [...(await subproof(m0, start, start + k, whole)), await hash(start + k, end)];
    return [...(await subproof(m0 - k, start + k, end, false)), await hash(start, start + k)];
  };
  if (m <= 0 || m > n) throw new AirgapError('MERKLE_BAD_INDEX', `no consistency proof from size ${m} to ${n}`);
  if (m === n) return [];
  return subproof(m, 0, n, true);
}
