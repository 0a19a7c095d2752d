/** The latest verified checkpoint of a log: tiles' /checkpoint (v2) or /api/v1/log (v1). */
import { AirgapError } from '../errors.js';
import { logRequest, parseJsonBody, show } from './log-http.js';
import { verifyRfc9162Consistency } from './merkle.js';
import { verifyCheckpointSignedByLogKey } from '../tlog/note.js';
import { rederiveTreeFromTiles, verifyConsistencyFromTiles } from './tiles.js';
import { logPublicKey, type LogTarget } from './target.js';
import { isSha256Hex } from '../util/sha256.js';
import { requireQuorum } from '../witness/quorum.js';

export interface LogHead {
  size: number;
  rootHex: string;
  checkpoint: string;
}

/** Rekor v2: the checkpoint file the tiles are served with. */
export async function readTilesHead(t: LogTarget): Promise<LogHead> {
  const res = await logRequest(t.endpoint, 'GET', '/checkpoint');
  if (res.status !== 200) throw new AirgapError('SMOKE_READ_FAILED', `GET /checkpoint answered HTTP ${res.status}`);
  const note = res.body.toString('utf8');
  const cp = verifyCheckpointSignedByLogKey(note, t.origin, logPublicKey(t));
  requireWitnesses(t, note, 'the checkpoint at /checkpoint');
  return { size: cp.size, rootHex: Buffer.from(cp.rootHash).toString('hex'), checkpoint: note };
}

/** A log with a witness policy: the checkpoint carries the cosignatures of its quorum. */
export function requireWitnesses(t: LogTarget, note: string, what: string): void {
  if (!t.witnessPolicy) return;
  requireQuorum(note, t.witnessPolicy, { what, ...(t.witnessLastSeen ? { lastSeen: t.witnessLastSeen } : {}) });
}

/** Rekor v1: the signed tree head of GET /api/v1/log (origin `<hostname> - <tree ID>`). */
export async function readApiV1Head(t: LogTarget): Promise<LogHead> {
  const res = await logRequest(t.endpoint, 'GET', '/api/v1/log');
  const head = apiV1HeadOf(parseJsonBody<{ signedTreeHead?: string; treeID?: string }>(res, 'GET /api/v1/log'), t);
  requireWitnesses(t, head.checkpoint, 'the signed tree head at /api/v1/log');
  return head;
}

/** The verified head in an answer of GET /api/v1/log, however it was fetched. */
export function apiV1HeadOf(
  info: { signedTreeHead?: unknown; treeID?: unknown },
  t: Pick<LogTarget, 'logKeyPem' | 'origin'>,
): LogHead {
  const note = typeof info.signedTreeHead === 'string' ? info.signedTreeHead : '';
  const cp = verifyCheckpointSignedByLogKey(note, `${t.origin} - ${show(info.treeID)}`, logPublicKey(t), t.origin);
  return { size: cp.size, rootHex: Buffer.from(cp.rootHash).toString('hex'), checkpoint: note };
}

export function hexRoot(h: LogHead): Uint8Array {
  return new Uint8Array(Buffer.from(h.rootHex, 'hex'));
}

/** Tiles read from the log over its HTTPS endpoint. */
export function tileFetcher(t: LogTarget): (path: string) => Promise<Uint8Array> {
  return async (path: string) => {
    const res = await logRequest(t.endpoint, 'GET', `/${path}`);
    if (res.status !== 200) throw new AirgapError('SMOKE_READ_FAILED', `GET /${path} answered HTTP ${res.status}`);
    return new Uint8Array(res.body);
  };
}

/** Rekor v2: every entry bundle and hash tile the log serves re-derives `head`'s root. */
export async function auditTilesTree(t: LogTarget, head: LogHead): Promise<string> {
  const r = await rederiveTreeFromTiles({ size: head.size, rootHash: hexRoot(head) }, tileFetcher(t));
  return `${r.leaves} entries in ${r.entryBundles} entry bundles re-derive the root ${head.rootHex}`;
}

/** Rekor v2: `to` extends `from`, proved from the log's own hash tiles. */
export async function proveTilesConsistency(t: LogTarget, from: LogHead, to: LogHead): Promise<void> {
  if (from.size === 0) return;
  await verifyConsistencyFromTiles(
    { size: from.size, rootHash: hexRoot(from) },
    { size: to.size, rootHash: hexRoot(to) },
    tileFetcher(t),
  );
}

/** Rekor v1: `to` extends `from`, proved by the proof the log serves (/api/v1/log/proof). */
export async function proveApiV1Consistency(t: LogTarget, from: LogHead, to: LogHead): Promise<void> {
  if (from.size === 0) return;
  const res = await logRequest(t.endpoint, 'GET', `/api/v1/log/proof?firstSize=${from.size}&lastSize=${to.size}`);
  const proof = parseJsonBody<{ hashes?: unknown; rootHash?: unknown }>(res, 'GET /api/v1/log/proof');
  const list = Array.isArray(proof.hashes) ? proof.hashes : [];
  const hashes = list.map((h, i) => {
    if (!isSha256Hex(h))
      throw new AirgapError('SMOKE_BAD_RESPONSE', `consistency proof hashes[${i}] is not a SHA-256 hex`);
    return new Uint8Array(Buffer.from(h, 'hex'));
  });
  verifyRfc9162Consistency(from.size, to.size, hashes, hexRoot(from), hexRoot(to));
}
