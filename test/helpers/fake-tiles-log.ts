/**
 * A Rekor v2 log in memory for the monitor's tests: hashedrekord v0.0.2 entries, their entry
 * bundles and hash tiles (tlog-tiles), a checkpoint signed with an Ed25519 key and, when asked,
 * cosigned by witnesses. `stack` reads it through the real tile code (root re-derivation,
 * consistency from tiles) with an in-process tile fetcher instead of HTTPS.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readTilesEntryRange } from '../../src/rekor/entry-range.js';
import type { LogHead } from '../../src/rekor/log-head.js';
import { rfc6962LeafHash } from '../../src/rekor/merkle.js';
import { formatCheckpointBody, signNote, verifyCheckpointSignedByLogKey } from '../../src/tlog/note.js';
import type { LogTarget } from '../../src/rekor/target.js';
import { entryBundlePath, verifyConsistencyFromTiles, TILE_WIDTH } from '../../src/rekor/tiles.js';
import type { LogStack } from '../../src/stacks/stack.js';
import { cosignNote } from '../../src/witness/cosignature.js';
import { AirgapError } from '../../src/errors.js';
import { publishTiles } from './mini-tiles-log.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** A hashedrekord v0.0.2 body signing `artifact` with `key` (an ECDSA P-256 pair when not given). */
export function hashedRekordBody(artifact: string, key?: { privateKey: KeyObject; publicKey: KeyObject }): Buffer {
  const k = key ?? generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const digest = createHash('sha256').update(artifact).digest();
  return Buffer.from(
    JSON.stringify({
      apiVersion: '0.0.2',
      kind: 'hashedrekord',
      spec: {
        hashedRekordV002: {
          data: { algorithm: 'SHA2_256', digest: b64(digest) },
          signature: {
            content: b64(sign('sha256', Buffer.from(artifact), k.privateKey)),
            verifier: {
              publicKey: { rawBytes: b64(k.publicKey.export({ type: 'spki', format: 'der' })) },
              keyDetails: 'PKIX_ECDSA_P256_SHA_256',
            },
          },
        },
      },
    }),
  );
}

export interface Witness {
  name: string;
  privateKey: KeyObject;
}

export class FakeTilesLog {
  readonly entries: Buffer[] = [];
  readonly key = generateKeyPairSync('ed25519');
  /** Files served: tiles, entry bundles, checkpoint. */
  files = new Map<string, Uint8Array>();
  note = '';
  /** Each tile read (tests count or break them). */
  fetchHook: (path: string, bytes: Uint8Array | undefined) => Uint8Array | undefined = (_p, b) => b;
  unreachable = false;

  constructor(readonly origin = 'log.example') {
    this.publish();
  }

  add(...bodies: Buffer[]): this {
    this.entries.push(...bodies);
    return this.publish();
  }

  /** Re-publishes tiles, bundles and a checkpoint for the current entries, cosigned by `witnesses` at `time`. */
  publish(witnesses: Witness[] = [], time = Math.floor(Date.now() / 1000)): this {
    const leaves = this.entries.map((e) => rfc6962LeafHash(e));
    this.files = publishTiles(leaves);
    for (let k = 0; k * TILE_WIDTH < this.entries.length; k++) {
      const slice = this.entries.slice(k * TILE_WIDTH, (k + 1) * TILE_WIDTH);
      const parts = slice.flatMap((e) => [Buffer.from([e.length >> 8, e.length & 0xff]), e]);
      this.files.set(entryBundlePath(k, slice.length), Buffer.concat(parts));
    }
    return this.setNote(leaves, witnesses, time);
  }

  /** A new checkpoint note for the same tree, cosigned by `witnesses` at `time` (what Tessera republishes). */
  republish(witnesses: Witness[], time: number): this {
    return this.setNote(
      this.entries.map((e) => rfc6962LeafHash(e)),
      witnesses,
      time,
    );
  }

  private setNote(leaves: Uint8Array[], witnesses: Witness[], time: number): this {
    const rootHash = leaves.length ? syncRoot(leaves) : new Uint8Array(createHash('sha256').digest());
    let note = signNote(
      formatCheckpointBody({ origin: this.origin, size: leaves.length, rootHash, extensions: [] }),
      this.origin,
      this.key.privateKey,
    );
    for (const w of witnesses) note = cosignNote(note, w.name, w.privateKey, time);
    this.note = note;
    return this;
  }

  /** A copy of what it serves now (put back with restore: a rollback). */
  snapshot(): { entries: Buffer[]; files: Map<string, Uint8Array>; note: string } {
    return { entries: [...this.entries], files: new Map(this.files), note: this.note };
  }

  restore(s: ReturnType<FakeTilesLog['snapshot']>): void {
    this.entries.splice(0, this.entries.length, ...s.entries);
    this.files = new Map(s.files);
    this.note = s.note;
  }

  target(): LogTarget {
    return {
      endpoint: { url: 'https://log.example', ca: '' },
      logKeyPem: this.key.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      origin: this.origin,
      label: 'test',
    };
  }

  private readonly fetch = async (path: string): Promise<Uint8Array> => {
    if (this.unreachable) throw new AirgapError('SMOKE_UNREACHABLE', 'the test log is down');
    const b = this.fetchHook(path, this.files.get(path));
    if (!b) throw new AirgapError('SMOKE_READ_FAILED', `GET /${path} answered HTTP 404`);
    return b;
  };

  /** The stack the monitor reads it with (the real v2 verification code, over this fetcher). */
  stack(): Pick<LogStack, 'readHead' | 'proveConsistency' | 'readEntry' | 'readEntryRange'> {
    return {
      readHead: async (t) => {
        if (this.unreachable) throw new AirgapError('SMOKE_UNREACHABLE', 'the test log is down');
        const cp = verifyCheckpointSignedByLogKey(this.note, t.origin, this.key.publicKey);
        return { size: cp.size, rootHex: Buffer.from(cp.rootHash).toString('hex'), checkpoint: this.note };
      },
      proveConsistency: async (_t, from: LogHead, to: LogHead) => {
        if (from.size === 0) return;
        await verifyConsistencyFromTiles(
          { size: from.size, rootHash: Buffer.from(from.rootHex, 'hex') },
          { size: to.size, rootHash: Buffer.from(to.rootHex, 'hex') },
          this.fetch,
        );
      },
      readEntry: () => Promise.reject(new Error('the monitor reads ranges')),
      readEntryRange: (t, head, from, to) => readTilesEntryRange(t, head, from, to, this.fetch),
    };
  }
}

function syncRoot(leaves: Uint8Array[]): Uint8Array {
  const mth = (s: number, e: number): Buffer => {
    if (e - s === 1) return Buffer.from(leaves[s]!);
    let k = 1;
    while (k * 2 < e - s) k *= 2;
    return createHash('sha256')
      .update(Buffer.from([1]))
      .update(mth(s, s + k))
      .update(mth(s + k, e))
      .digest();
  };
  return new Uint8Array(mth(0, leaves.length));
}
