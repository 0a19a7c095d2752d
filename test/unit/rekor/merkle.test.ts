import { describe, expect, it } from 'vitest';
import {
  memorySubtreeHasher,
  rfc6962ConsistencyProof,
  rfc6962InclusionProof,
  rfc6962LeafHash,
  verifyRfc9162Consistency,
  verifyRfc9162Inclusion,
} from '../../../src/rekor/merkle.js';
import { expectCode } from '../../helpers/expect-code.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

// RFC 6962 reference data, as published with Certificate Transparency / transparency-dev/merkle
// (testonly/constants.go): leaves, the root of each tree size 1..8, and proofs.
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(
  unhex,
);
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const INCLUSION = [
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];
const CONSISTENCY = [
  {
    first: 2,
    second: 8,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    first: 6,
    second: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    first: 2,
    second: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];
const leafHashes = LEAVES.map(rfc6962LeafHash);
const hasher = memorySubtreeHasher(leafHashes);

function flip(b: Uint8Array, i: number): Uint8Array {
  const c = new Uint8Array(b);
  c[i] = c[i]! ^ 0x01;
  return c;
}

describe('RFC 6962 hashing', () => {
  it('gives the reference root for every size 1..8', async () => {
    for (let n = 1; n <= 8; n++) expect(hex(await hasher(0, n)), `size ${n}`).toBe(ROOTS[n - 1]);
  });
});

describe('inclusion', () => {
  it('builds and verifies the reference proofs', async () => {
    for (const v of INCLUSION) {
      expect((await rfc6962InclusionProof(v.index, v.size, hasher)).map(hex)).toEqual(v.proof);
      verifyRfc9162Inclusion(v.index, v.size, leafHashes[v.index]!, v.proof.map(unhex), unhex(ROOTS[v.size - 1]!));
    }
  });

  it('verifies every leaf of every tree size up to 40', async () => {
    const leaves = Array.from({ length: 40 }, (_, i) => rfc6962LeafHash(new Uint8Array([i, i >> 8])));
    const h = memorySubtreeHasher(leaves);
    for (let n = 1; n <= 40; n++) {
      const root = await h(0, n);
      for (let i = 0; i < n; i++) verifyRfc9162Inclusion(i, n, leaves[i]!, await rfc6962InclusionProof(i, n, h), root);
    }
  });

  describe('when any byte of the proof, root or leaf is flipped, or index or depth change', () => {
    it('fails with MERKLE_INCLUSION_INVALID every time', () => {
      for (const v of INCLUSION) {
        const proof = v.proof.map(unhex);
        const root = unhex(ROOTS[v.size - 1]!);
        const leaf = leafHashes[v.index]!;
        for (let p = 0; p < proof.length; p++) {
          for (let i = 0; i < 32; i++) {
            const bad = proof.map((h, j) => (j === p ? flip(h, i) : h));
            expectCode(() => verifyRfc9162Inclusion(v.index, v.size, leaf, bad, root), 'MERKLE_INCLUSION_INVALID');
          }
        }
        for (let i = 0; i < 32; i++) {
          expectCode(
            () => verifyRfc9162Inclusion(v.index, v.size, leaf, proof, flip(root, i)),
            'MERKLE_INCLUSION_INVALID',
          );
          expectCode(
            () => verifyRfc9162Inclusion(v.index, v.size, flip(leaf, i), proof, root),
            'MERKLE_INCLUSION_INVALID',
          );
        }
        expectCode(() => verifyRfc9162Inclusion(v.index + 1, v.size, leaf, proof, root), 'MERKLE_INCLUSION_INVALID');
        expectCode(() => verifyRfc9162Inclusion(v.index, v.size + 1, leaf, proof, root), 'MERKLE_INCLUSION_INVALID');
        expectCode(
          () => verifyRfc9162Inclusion(v.index, v.size, leaf, proof.slice(1), root),
          'MERKLE_INCLUSION_INVALID',
        );
        expectCode(
          () => verifyRfc9162Inclusion(v.index, v.size, leaf, [...proof, proof[0]!], root),
          'MERKLE_INCLUSION_INVALID',
        );
        expectCode(() => verifyRfc9162Inclusion(v.size, v.size, leaf, proof, root), 'MERKLE_INCLUSION_INVALID');
      }
    });
  });
});

describe('consistency', () => {
  it('builds and verifies the reference proofs', async () => {
    for (const v of CONSISTENCY) {
      expect((await rfc6962ConsistencyProof(v.first, v.second, hasher)).map(hex)).toEqual(v.proof);
      verifyRfc9162Consistency(
        v.first,
        v.second,
        v.proof.map(unhex),
        unhex(ROOTS[v.first - 1]!),
        unhex(ROOTS[v.second - 1]!),
      );
    }
  });

  it('verifies every pair of sizes up to 40', async () => {
    const leaves = Array.from({ length: 40 }, (_, i) => rfc6962LeafHash(new Uint8Array([i])));
    const h = memorySubtreeHasher(leaves);
    for (let n = 1; n <= 40; n++) {
      for (let m = 1; m <= n; m++) {
        verifyRfc9162Consistency(m, n, await rfc6962ConsistencyProof(m, n, h), await h(0, m), await h(0, n));
      }
    }
  });

  describe('when any byte of the proof or either root is flipped, or a size changes depth', () => {
    it('fails with MERKLE_CONSISTENCY_INVALID every time', () => {
      for (const v of CONSISTENCY) {
        const proof = v.proof.map(unhex);
        const r1 = unhex(ROOTS[v.first - 1]!);
        const r2 = unhex(ROOTS[v.second - 1]!);
        for (let p = 0; p < proof.length; p++) {
          for (let i = 0; i < 32; i++) {
            const bad = proof.map((h, j) => (j === p ? flip(h, i) : h));
            expectCode(() => verifyRfc9162Consistency(v.first, v.second, bad, r1, r2), 'MERKLE_CONSISTENCY_INVALID');
          }
        }
        for (let i = 0; i < 32; i++) {
          expectCode(
            () => verifyRfc9162Consistency(v.first, v.second, proof, flip(r1, i), r2),
            'MERKLE_CONSISTENCY_INVALID',
          );
          expectCode(
            () => verifyRfc9162Consistency(v.first, v.second, proof, r1, flip(r2, i)),
            'MERKLE_CONSISTENCY_INVALID',
          );
        }
        expectCode(() => verifyRfc9162Consistency(v.first + 1, v.second, proof, r1, r2), 'MERKLE_CONSISTENCY_INVALID');
        // (A size change that keeps the tree's shape computes the same roots; the signed checkpoint
        // binds size to root, so sizes are checked there. Changes of depth must fail here.)
        expectCode(
          () => verifyRfc9162Consistency(v.first, v.second * 2 + 1, proof, r1, r2),
          'MERKLE_CONSISTENCY_INVALID',
        );
        expectCode(() => verifyRfc9162Consistency(v.second, v.first, proof, r1, r2), 'MERKLE_CONSISTENCY_INVALID');
      }
    });
  });
});
