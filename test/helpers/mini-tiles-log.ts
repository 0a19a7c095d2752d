/**
 * An honest, in-memory Rekor v2 stand-in for property tests of the smoke test: it accepts
 * hashedrekord v0.0.2 requests, keeps the leaves, signs checkpoints with an Ed25519 key, answers
 * with real RFC 6962 inclusion proofs, and serves tlog-tiles. A `tamper` hook may rewrite any
 * answer. (The real rekor-tiles is exercised end to end on the rig; this one lets a fuzzer reach
 * every step of the smoke test.)
 */
import { createHash, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { memorySubtreeHasher, rfc6962InclusionProof, rfc6962LeafHash } from '../../src/rekor/merkle.js';
import { formatCheckpointBody, logKeyId, signNote } from '../../src/tlog/note.js';
import { tilePath } from '../../src/rekor/tiles.js';

export interface Answer {
  status: number;
  body: Buffer;
}
export type Tamper = (n: number, method: string, path: string, a: Answer) => Answer;

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

export function publishTiles(leaves: Uint8Array[]): Map<string, Uint8Array> {
  const tiles = new Map<string, Uint8Array>();
  let level = leaves;
  for (let L = 0; level.length > 0; L++) {
    for (let t = 0; t * 256 < level.length; t++) {
      const slice = level.slice(t * 256, t * 256 + 256);
      const buf = new Uint8Array(slice.length * 32);
      slice.forEach((h, i) => buf.set(h, i * 32));
      tiles.set(tilePath(L, t, slice.length), buf);
    }
    const next: Uint8Array[] = [];
    for (let t = 0; (t + 1) * 256 <= level.length; t++) {
      let row = level.slice(t * 256, (t + 1) * 256);
      while (row.length > 1) {
        const up: Uint8Array[] = [];
        for (let i = 0; i < row.length; i += 2)
          up.push(
            createHash('sha256')
              .update(Buffer.from([1]))
              .update(row[i]!)
              .update(row[i + 1]!)
              .digest(),
          );
        row = up;
      }
      next.push(row[0]!);
    }
    level = next;
  }
  return tiles;
}

export class MiniTilesLog {
  readonly leaves: Uint8Array[] = [];
  private note = '';
  private server: http.Server | undefined;
  tamper: Tamper = (_n, _m, _p, a) => a;
  requests = 0;
  url = '';

  constructor(
    readonly origin: string,
    private readonly key: KeyObject,
    private readonly pub: KeyObject,
    preload = 0,
  ) {
    for (let i = 0; i < preload; i++) this.leaves.push(rfc6962LeafHash(Buffer.from(`preloaded ${i}`)));
    if (preload) this.note = this.sign();
  }

  private sign(): string {
    const n = this.leaves.length;
    return signNote(
      formatCheckpointBody({ origin: this.origin, size: n, rootHash: rootOf(this.leaves), extensions: [] }),
      this.origin,
      this.key,
    );
  }

  private async answer(method: string, path: string, body: Buffer): Promise<Answer> {
    const ok = (b: string | Uint8Array, status = 200): Answer => ({ status, body: Buffer.from(b) });
    if (path === '/healthz') return ok('{"status":"SERVING"}');
    if (method === 'POST' && path === '/api/v2/log/entries') {
      const req = JSON.parse(body.toString('utf8')) as {
        hashedRekordRequestV002: { digest: string; signature: { content: string; verifier: unknown } };
      };
      const r = req.hashedRekordRequestV002;
      const canonical = Buffer.from(
        JSON.stringify({
          apiVersion: '0.0.2',
          kind: 'hashedrekord',
          spec: { hashedRekordV002: { data: { digest: r.digest }, signature: r.signature } },
        }),
      );
      const index = this.leaves.length;
      this.leaves.push(rfc6962LeafHash(canonical));
      this.note = this.sign();
      const n = this.leaves.length;
      const proof = await rfc6962InclusionProof(index, n, memorySubtreeHasher(this.leaves));
      return ok(
        JSON.stringify({
          logIndex: String(index),
          logId: { keyId: b64(logKeyId(this.origin, this.pub)) },
          kindVersion: { kind: 'hashedrekord', version: '0.0.2' },
          inclusionProof: {
            logIndex: String(index),
            rootHash: b64(rootOf(this.leaves)),
            treeSize: String(n),
            hashes: proof.map(b64),
            checkpoint: { envelope: this.note },
          },
          canonicalizedBody: b64(canonical),
        }),
        201,
      );
    }
    if (path === '/checkpoint') return ok(this.note);
    const tile = publishTiles(this.leaves).get(path.slice(1));
    return tile ? ok(tile) : { status: 404, body: Buffer.from('not found') };
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        const n = this.requests++;
        this.answer(req.method ?? 'GET', path, Buffer.concat(parts))
          .then((a) => this.tamper(n, req.method ?? 'GET', path, a))
          .then(
            (a) => res.writeHead(a.status).end(a.body),
            () => res.writeHead(500).end(),
          );
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): void {
    this.server?.close();
  }
}

function rootOf(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return createHash('sha256').digest();
  const level = leaves.map((l) => Buffer.from(l));
  const hashLevel = (xs: Buffer[]): Buffer => {
    if (xs.length === 1) return xs[0]!;
    let k = 1;
    while (k * 2 < xs.length) k *= 2;
    return createHash('sha256')
      .update(Buffer.from([1]))
      .update(hashLevel(xs.slice(0, k)))
      .update(hashLevel(xs.slice(k)))
      .digest();
  };
  return hashLevel(level);
}
