/**
 * Every parser of outside input, fed random and mutated input: it returns a value or throws its
 * coded error — never a TypeError, never a hang, never unbounded allocation.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, it, vi } from 'vitest';

// Long runs (npm run fuzz) take minutes per property.
vi.setConfig({ testTimeout: 600_000 });
import { parseManifest } from '../../../src/bundle/manifest.js';
import { parseProfile } from '../../../src/bundle/profile.js';
import { parseIndex } from '../../../src/media/transfer-index.js';
import { parseImageConfigPlatform, parseImageIndex, parseImageManifest } from '../../../src/oci/manifest-parse.js';
import { parseChallenge } from '../../../src/registry/auth.js';
import { parseChartConfig } from '../../../src/registry/pull-chart.js';
import { parseImageRef } from '../../../src/ref/image-ref.js';
import { selectPlatform } from '../../../src/registry/platform.js';
import { parseTarHeader, tarFileHeader } from '../../../src/util/tar.js';
import { decodeB64, decodeInt, parseJsonBody } from '../../../src/rekor/log-http.js';
import { verifyRfc9162Consistency, verifyRfc9162Inclusion } from '../../../src/rekor/merkle.js';
import {
  formatCheckpointBody,
  parseCheckpointBody,
  parseSignedNote,
  signNote,
  verifyCheckpointSignedByLogKey,
} from '../../../src/tlog/note.js';
import { parseBackupManifest } from '../../../src/backup/backup-manifest.js';
import { headOfNote } from '../../../src/instance/checkpoint-history.js';
import { parseState } from '../../../src/instance/state.js';
import { parseEntryBundle } from '../../../src/rekor/tiles.js';
import { parseCheckpointRecord } from '../../../src/rekor/record-check.js';
import { describeBody } from '../../../src/rekor/entry-reader.js';
import { fc, jsonValue, mutatedJson, onlyCoded, params } from '../../helpers/fuzz.js';

const sha = 'a'.repeat(64);
const VALID_MANIFEST = {
  formatVersion: 1,
  createdAt: '2026-01-01T00:00:00Z',
  tool: { name: 'rekor-airgap', version: '0.1.0' },
  platform: 'linux/amd64',
  profiles: ['rekor-v2'],
  releases: { 'rekor-v2': 1 },
  images: [
    {
      name: 'rekor',
      ref: 'ghcr.io/x/y:v1',
      digest: `sha256:${sha}`,
      manifestDigest: `sha256:${sha}`,
      layoutManifestDigest: `sha256:${sha}`,
      configDigest: `sha256:${sha}`,
      platform: 'linux/amd64',
      size: 10,
      source: 'r',
      profiles: ['rekor-v2'],
    },
  ],
  charts: [
    {
      name: 'rekor-tiles',
      ref: 'ghcr.io/x/c:1.0.0',
      digest: `sha256:${sha}`,
      chartDigest: `sha256:${sha}`,
      configDigest: `sha256:${sha}`,
      version: '1.0.0',
      size: 9,
      profiles: ['rekor-v2'],
    },
  ],
  files: [
    { path: 'install.sh', size: 3, sha256: sha },
    { path: 'images/index.json', size: 4, sha256: sha },
  ],
};
const VALID_INDEX = {
  formatVersion: 1,
  kind: 'rekor-airgap-transfer',
  archive: { name: 'bundle.tar', size: 30 },
  chunkSize: 10,
  chunks: [0, 1, 2].map((i) => ({ index: i, name: `bundle.tar.00${i}`, size: 10, sha256: sha })),
  bundle: { manifestSha256: sha, manifestSize: 5, createdAt: 'x', profiles: ['rekor-v2'] },
};
const VALID_OCI_INDEX = {
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests: [
    {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${sha}`,
      size: 5,
      platform: { os: 'linux', architecture: 'amd64' },
    },
  ],
};
const VALID_OCI_MANIFEST = {
  schemaVersion: 2,
  config: { mediaType: 'c', digest: `sha256:${sha}`, size: 1 },
  layers: [{ mediaType: 'l', digest: `sha256:${sha}`, size: 2 }],
};

const VALID_BACKUP = {
  format: 'rekor-airgap-backup/2',
  createdAt: 'x',
  tool: '0.1.0',
  instance: 'default',
  profile: 'rekor-v2',
  kind: 'rekor-v2',
  origin: 'log.example',
  logKeyId: sha,
  checkpoint: { size: 3, rootHex: sha, note: 'n' },
  files: [
    { path: 'data/log/checkpoint', size: 3, sha256: sha, mode: 420, uid: 0, gid: 0 },
    { path: 'hook/pg.out', size: 1, sha256: sha, mode: 384, uid: 0, gid: 0 },
  ],
  dirs: [{ path: 'log', mode: 493, uid: 65532, gid: 65532 }],
  secrets: { path: 'secrets.tar.age', files: 2 },
  hooks: [{ name: 'pg', path: 'hook/pg.out' }],
  dumps: [],
};

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  jsonValue.map((v) => JSON.stringify(v)),
);

describe('bundle.json (parseManifest)', () => {
  it('random text', () =>
    fc.assert(
      fc.property(text, (t) => onlyCoded(() => parseManifest(t, 'b.json'), ['BUNDLE_MANIFEST_INVALID'])),
      params(),
    ));
  it('a valid manifest with one edit', () =>
    fc.assert(
      fc.property(mutatedJson(VALID_MANIFEST), (t) =>
        onlyCoded(() => parseManifest(t, 'b.json'), ['BUNDLE_MANIFEST_INVALID']),
      ),
      params(),
    ));
});

describe('backup.json (parseBackupManifest)', () => {
  const codes = [
    'BACKUP_ARCHIVE_CORRUPT',
    'BACKUP_FORMAT_UNSUPPORTED',
    'BACKUP_FORMAT_UNAUTHENTICATED',
    'BACKUP_WRONG_STACK',
  ];
  it('random text', () =>
    fc.assert(
      fc.property(text, (t) => onlyCoded(() => parseBackupManifest(t), codes)),
      params(),
    ));
  it('a valid manifest with one edit', () =>
    fc.assert(
      fc.property(mutatedJson(VALID_BACKUP), (t) => onlyCoded(() => parseBackupManifest(t), codes)),
      params(),
    ));
});

describe('state.json (parseState), of the instance or inside a backup', () => {
  const VALID_STATE = {
    instance: 'default',
    profile: 'rekor-v2',
    kind: 'rekor-v2',
    project: 'rekor-airgap-default',
    dataDir: '/d',
    hostname: 'h',
    origin: 'h',
    httpsPort: 443,
    bindAddress: '0.0.0.0',
    url: 'https://h',
    checkpointInterval: '2s',
    stack: { tsa: '' },
    logPublicKeyPem: 'k',
    logKeyId: sha,
    bundle: { createdAt: 'x', manifestSha256: sha, release: 1 },
    highestRelease: 1,
    images: { rekor: { ref: 'r', configDigest: 'c' } },
    installedAt: 'x',
    updatedAt: 'x',
  };
  const src = { what: 'state.json', code: 'BACKUP_ARCHIVE_CORRUPT' } as const;
  it('random text', () =>
    fc.assert(
      fc.property(text, (t) => onlyCoded(() => parseState(t, src), [src.code])),
      params(),
    ));
  it('a valid state with one edit', () =>
    fc.assert(
      fc.property(mutatedJson(VALID_STATE), (t) => onlyCoded(() => parseState(t, src), [src.code])),
      params(),
    ));
});

describe('entry bundles and kept checkpoints', () => {
  it('random entry bundles', () =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 0, max: 256 }), (b, n) =>
        onlyCoded(() => parseEntryBundle(b, n, 'tile/entries/000'), ['SMOKE_TILE_SHORT', 'SMOKE_PROOF_TILES']),
      ),
      params(),
    ));
  it('random checkpoint files', () =>
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), (t) =>
        onlyCoded(() => headOfNote(t), ['NOTE_MALFORMED', 'NOTE_CHECKPOINT_MALFORMED']),
      ),
      params(),
    ));
});

describe('transparency.checkpoint records and entry bodies', () => {
  const VALID_RECORD = {
    event_type: 'transparency.checkpoint',
    payload: {
      rekor_log_index: 2,
      digest: `sha256:${sha}`,
      checkpoint: 'c',
      inclusion_proof: { log_index: 2, tree_size: 3, root_hash: sha, hashes: [sha], checkpoint: 'c' },
    },
  };
  const VALID_BODY = {
    apiVersion: '0.0.2',
    kind: 'hashedrekord',
    spec: {
      hashedRekordV002: {
        data: { algorithm: 'SHA2_256', digest: Buffer.alloc(32).toString('base64') },
        signature: { content: 'AA==', verifier: { publicKey: { rawBytes: 'AA==' } } },
      },
    },
  };
  const codes = ['SMOKE_BAD_RESPONSE'];
  it('random text as a record', () =>
    fc.assert(
      fc.property(text, (t) => onlyCoded(() => parseCheckpointRecord(t), codes)),
      params(),
    ));
  it('a valid record with one edit', () =>
    fc.assert(
      fc.property(mutatedJson(VALID_RECORD), (t) => onlyCoded(() => parseCheckpointRecord(t), codes)),
      params(),
    ));
  it('a valid entry body with one edit', () =>
    fc.assert(
      fc.property(mutatedJson(VALID_BODY), (t) => onlyCoded(() => describeBody(Buffer.from(t)), codes)),
      params(),
    ));
});

describe('the transfer index (parseIndex)', () => {
  it('random text', () =>
    fc.assert(
      fc.property(text, (t) => onlyCoded(() => parseIndex(t, 'i.json'), ['MEDIA_INDEX_INVALID'])),
      params(),
    ));
  it('a valid index with one edit', () =>
    fc.assert(
      fc.property(mutatedJson(VALID_INDEX), (t) => onlyCoded(() => parseIndex(t, 'i.json'), ['MEDIA_INDEX_INVALID'])),
      params(),
    ));
});

describe('registry manifests and indexes', () => {
  const codes = ['REGISTRY_BAD_MANIFEST', 'REGISTRY_PLATFORM_NOT_FOUND'];
  it('random bytes', () =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (b) => {
        onlyCoded(() => parseImageIndex(b, 'index'), codes);
        onlyCoded(() => parseImageManifest(b, 'manifest'), codes);
        onlyCoded(() => parseImageConfigPlatform(b, 'config'), codes);
      }),
      params(),
    ));
  it('a valid index with one edit, then platform selection', () =>
    fc.assert(
      fc.property(mutatedJson(VALID_OCI_INDEX), (t) =>
        onlyCoded(() => {
          selectPlatform(parseImageIndex(Buffer.from(t), 'index'), { os: 'linux', architecture: 'amd64' }, 'x');
        }, codes),
      ),
      params(),
    ));
  it('a valid manifest with one edit', () =>
    fc.assert(
      fc.property(mutatedJson(VALID_OCI_MANIFEST), (t) =>
        onlyCoded(() => parseImageManifest(Buffer.from(t), 'm'), codes),
      ),
      params(),
    ));
  it('Helm chart configs: random text, and a valid one with one edit', () => {
    fc.assert(
      fc.property(text, (t) => onlyCoded(() => parseChartConfig(Buffer.from(t), 'c'), ['REGISTRY_BAD_MANIFEST'])),
      params(),
    );
    fc.assert(
      fc.property(mutatedJson({ name: 'rekor-tiles', version: '1.2.1', apiVersion: 'v2' }), (t) =>
        onlyCoded(() => parseChartConfig(Buffer.from(t), 'c'), ['REGISTRY_BAD_MANIFEST']),
      ),
      params(),
    );
  });
  it('WWW-Authenticate headers and image references', () =>
    fc.assert(
      fc.property(fc.string(), (s) => {
        parseChallenge(s);
        onlyCoded(() => parseImageRef(s), ['REF_INVALID']);
      }),
      params(),
    ));
});

describe('tar headers', () => {
  const valid = tarFileHeader('images/blobs/sha256/abc', 1234, 0o644, 0);
  it('random 512-byte blocks', () =>
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 512, maxLength: 512 }), (b) =>
        onlyCoded(() => parseTarHeader(Buffer.from(b)), ['MEDIA_TAR_CORRUPT']),
      ),
      params(),
    ));
  it('a valid header with bytes changed', () =>
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 511 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        (edits) => {
          const h = Buffer.from(valid);
          for (const [i, v] of edits) h[i] = v;
          onlyCoded(() => {
            const r = parseTarHeader(h);
            if (r && (!Number.isSafeInteger(r.size) || r.size < 0)) throw new Error(`size ${r.size}`);
          }, ['MEDIA_TAR_CORRUPT']);
        },
      ),
      params(),
    ));
});

describe('signed notes and checkpoints', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const origin = 'rekor.site.internal';
  const good = signNote(
    formatCheckpointBody({ origin, size: 12, rootHash: new Uint8Array(32).fill(7), extensions: [] }),
    origin,
    privateKey,
  );
  const codes = [
    'NOTE_MALFORMED',
    'NOTE_CHECKPOINT_MALFORMED',
    'NOTE_KEY_NOT_FOUND',
    'NOTE_SIGNATURE_INVALID',
    'NOTE_ORIGIN_MISMATCH',
    'NOTE_UNSUPPORTED_KEY',
  ];
  it('random text', () =>
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), (t) => {
        onlyCoded(() => parseSignedNote(t), codes);
        onlyCoded(() => parseCheckpointBody(t), codes);
        onlyCoded(() => verifyCheckpointSignedByLogKey(t, origin, publicKey), codes);
      }),
      params(),
    ));
  it('a signed checkpoint with characters changed: never verifies as something else', () =>
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 1 })), { minLength: 1, maxLength: 4 }),
        (edits) => {
          let t = good;
          for (const [i, c] of edits) {
            const k = i % t.length;
            t = t.slice(0, k) + c + t.slice(k + 1);
          }
          onlyCoded(() => {
            const cp = verifyCheckpointSignedByLogKey(t, origin, publicKey);
            // Only an edit that changed nothing the signature covers may pass.
            if (cp.size !== 12 || cp.origin !== origin) throw new Error('a changed checkpoint verified');
          }, codes);
        },
      ),
      params(),
    ));
});

describe('Merkle proofs from the log', () => {
  const hash = fc.uint8Array({ minLength: 0, maxLength: 40 });
  const codes = [
    'MERKLE_BAD_HASH_LENGTH',
    'MERKLE_BAD_INDEX',
    'MERKLE_INCLUSION_INVALID',
    'MERKLE_CONSISTENCY_INVALID',
  ];
  it('inclusion: random index, size, leaf, proof and root', () =>
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 2 ** 40 }),
        fc.integer({ min: -5, max: 2 ** 40 }),
        hash,
        fc.array(hash, { maxLength: 70 }),
        hash,
        (i, n, leaf, proof, root) => onlyCoded(() => verifyRfc9162Inclusion(i, n, leaf, proof, root), codes),
      ),
      params(),
    ));
  it('consistency: random sizes, proof and roots', () =>
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 2 ** 40 }),
        fc.integer({ min: -5, max: 2 ** 40 }),
        fc.array(hash, { maxLength: 70 }),
        hash,
        hash,
        (m, n, proof, r1, r2) => onlyCoded(() => verifyRfc9162Consistency(m, n, proof, r1, r2), codes),
      ),
      params(),
    ));
});

describe("the log's responses", () => {
  it('numbers, base64 and JSON bodies', () =>
    fc.assert(
      fc.property(
        jsonValue,
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 100, max: 599 }),
        (v, body, status) => {
          onlyCoded(() => decodeB64(v, 'x'), ['SMOKE_BAD_RESPONSE']);
          onlyCoded(() => decodeInt(v, 'x'), ['SMOKE_BAD_RESPONSE']);
          onlyCoded(() => parseJsonBody({ status, headers: {}, body: Buffer.from(body) }, 'x'), ['SMOKE_BAD_RESPONSE']);
        },
      ),
      params(),
    ));
});

describe('profiles (YAML)', () => {
  it('random YAML-ish text', () =>
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          jsonValue.map((v) => JSON.stringify(v)),
        ),
        (t) => onlyCoded(() => parseProfile(t, 'p.yaml'), ['PROFILE_INVALID', 'REF_INVALID']),
      ),
      params(),
    ));
});
