/**
 * Reading one entry back from a log and proving it is in the log's current signed checkpoint —
 * the counterpart of `rekor-cli get --log-index` for both stacks. Rekor v2: the entry comes from
 * the entry bundles, its inclusion proof is computed from the hash tiles (nothing the server says
 * about it is trusted). Rekor v1: GET /api/v1/log/entries?logIndex=N with its proof, checked.
 */
import { AirgapError } from '../errors.js';
import { decodeB64, decodeInt, decodeList, logRequest, parseJsonBody, show } from './log-http.js';
import { parseUntrustedJson, readUntrustedJson, type JsonValue } from '../util/untrusted-json.js';
import { printable } from '../util/untrusted-text.js';
import { hexRoot, readApiV1Head, readTilesHead, tileFetcher, type LogHead } from './log-head.js';
import { bytesEqual, rfc6962InclusionProof, rfc6962LeafHash, verifyRfc9162Inclusion } from './merkle.js';
import { verifyCheckpointSignedByLogKey } from '../tlog/note.js';
import { logPublicKey, type LogTarget } from './target.js';
import { entryBundlePath, parseEntryBundle, TiledTree, TILE_WIDTH } from './tiles.js';
import { isSha256Hex } from '../util/sha256.js';

export interface LogEntry {
  logIndex: number;
  /** The entry's body as the log hashed it (the leaf). */
  body: Buffer;
  kind: string;
  /** Hex SHA-256 of the signed artifact. */
  digestHex: string;
  /** The signer: a public key (PEM) or a certificate (PEM). */
  verifier: string;
  /** The checkpoint the inclusion was proved against. */
  head: LogHead;
  proofHashes: number;
}

function pem(label: string, derB64: string): string {
  return `-----BEGIN ${label}-----\n${derB64.replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;
}

/** What a hashedrekord body says: the digest and the verifier (v0.0.2 for v2, v0.0.1 for v1). */
export function describeBody(body: Buffer): { kind: string; digestHex: string; verifier: string } {
  const doc = readUntrustedJson(body, { what: 'the entry body', code: 'SMOKE_BAD_RESPONSE' });
  // A field of an object, or absent (also when the parent is absent or not an object).
  const at = (v: JsonValue | undefined, ...path: string[]): JsonValue | undefined => {
    for (const p of path) v = v?.isObject ? v.at(p) : undefined;
    return v?.isAbsent ? undefined : v;
  };
  const str = (v: JsonValue | undefined): string | undefined => (typeof v?.raw === 'string' ? v.raw : undefined);
  const kind = `${show(at(doc, 'kind')?.raw)} ${show(at(doc, 'apiVersion')?.raw)}`;
  const v2 = at(doc, 'spec', 'hashedRekordV002');
  if (v2?.isObject) {
    const digest = str(at(v2, 'data', 'digest'));
    const key = str(at(v2, 'signature', 'verifier', 'publicKey', 'rawBytes'));
    const cert = str(at(v2, 'signature', 'verifier', 'x509Certificate', 'rawBytes'));
    if (digest === undefined) throw new AirgapError('SMOKE_BAD_RESPONSE', 'the hashedrekord has no digest');
    const der = (b64: string, what: string) => Buffer.from(decodeB64(b64, what)).toString('base64');
    return {
      kind,
      digestHex: Buffer.from(decodeB64(digest, 'digest')).toString('hex'),
      verifier:
        key !== undefined
          ? pem('PUBLIC KEY', der(key, 'publicKey.rawBytes'))
          : cert !== undefined
            ? pem('CERTIFICATE', der(cert, 'x509Certificate.rawBytes'))
            : '(none)',
    };
  }
  const value = str(at(doc, 'spec', 'data', 'hash', 'value'));
  const content = str(at(doc, 'spec', 'signature', 'publicKey', 'content'));
  if (value === undefined)
    throw new AirgapError('SMOKE_BAD_RESPONSE', `the entry (${kind}) has no hashedrekord digest`);
  // Printed as they are: the digest when it is hex, the signer's PEM with its lines.
  const digestHex = /^[0-9a-f]+$/i.test(value) ? value.toLowerCase() : printable(value, { max: 200 });
  const verifier =
    content !== undefined
      ? printable(Buffer.from(decodeB64(content, 'publicKey.content')), { max: 8192, keepNewlines: true })
      : '(none)';
  return { kind, digestHex, verifier };
}

/** Rekor v2: entry `index` from the entry bundles, proved into the current checkpoint from the tiles. */
export async function readTilesEntry(t: LogTarget, index: number): Promise<LogEntry> {
  const head = await readTilesHead(t);
  if (!Number.isSafeInteger(index) || index < 0 || index >= head.size)
    throw new AirgapError('USAGE_INVALID', `log index ${index} is not in the log (tree size ${head.size})`);
  const k = Math.floor(index / TILE_WIDTH);
  const width = Math.min(TILE_WIDTH, head.size - k * TILE_WIDTH);
  const path = entryBundlePath(k, width);
  const fetchTile = tileFetcher(t);
  const body = Buffer.from(parseEntryBundle(await fetchTile(path), width, path)[index % TILE_WIDTH]!);
  const tree = new TiledTree(head.size, fetchTile);
  const proof = await rfc6962InclusionProof(index, head.size, tree.subtreeHash);
  verifyRfc9162Inclusion(index, head.size, rfc6962LeafHash(body), proof, hexRoot(head));
  return { logIndex: index, body, ...describeBody(body), head, proofHashes: proof.length };
}

/** Rekor v2: every entry whose signed digest is `digestHex` (a scan of the entry bundles). */
export async function findTilesEntries(t: LogTarget, digestHex: string): Promise<number[]> {
  const head = await readTilesHead(t);
  const fetchTile = tileFetcher(t);
  const found: number[] = [];
  for (let k = 0; k * TILE_WIDTH < head.size; k++) {
    const width = Math.min(TILE_WIDTH, head.size - k * TILE_WIDTH);
    const path = entryBundlePath(k, width);
    parseEntryBundle(await fetchTile(path), width, path).forEach((e, i) => {
      try {
        if (describeBody(Buffer.from(e)).digestHex === digestHex) found.push(k * TILE_WIDTH + i);
      } catch {
        /* not a hashedrekord */
      }
    });
  }
  return found;
}

/** Rekor v1: the entry at `index` with the proof the log serves, checked against its signed checkpoint. */
export async function readApiV1Entry(t: LogTarget, index: number): Promise<LogEntry> {
  const e = await readApiV1EntryBody(t, index);
  return { ...e, ...describeBody(e.body) };
}

/** An entry's body, proved in a checkpoint the log signed (whatever kind of entry it is). */
export type ProvedBody = Pick<LogEntry, 'logIndex' | 'body' | 'head' | 'proofHashes'>;

/**
 * Rekor v1: the body of the entry at `index` with the proof the log serves, checked against its
 * signed checkpoint (`head`, read here when not given, or the checkpoint the proof carries).
 */
export async function readApiV1EntryBody(t: LogTarget, index: number, known?: LogHead): Promise<ProvedBody> {
  const head = known ?? (await readApiV1Head(t));
  const res = await logRequest(t.endpoint, 'GET', `/api/v1/log/entries?logIndex=${index}`);
  if (res.status === 404)
    throw new AirgapError('USAGE_INVALID', `log index ${index} is not in the log (tree size ${head.size})`);
  const map = parseJsonBody<Record<string, unknown>>(res, `GET /api/v1/log/entries?logIndex=${index}`);
  const e = Object.values(map)[0] as
    | {
        body?: unknown;
        logIndex?: unknown;
        verification?: {
          inclusionProof?: {
            logIndex?: unknown;
            treeSize?: unknown;
            rootHash?: unknown;
            hashes?: unknown;
            checkpoint?: unknown;
          };
        };
      }
    | undefined;
  if (!e || typeof e !== 'object') throw new AirgapError('SMOKE_BAD_RESPONSE', 'the log answered without an entry');
  if (decodeInt(e.logIndex, 'logIndex') !== index)
    throw new AirgapError('SMOKE_PROOF_INDEX', `asked for entry ${index}, got ${show(e.logIndex)}`);
  const body = Buffer.from(decodeB64(e.body, 'body'));
  const p = e.verification?.inclusionProof;
  if (!p) throw new AirgapError('SMOKE_PROOF_MISSING', 'the entry has no inclusion proof');
  const size = decodeInt(p.treeSize, 'treeSize');
  const root = isSha256Hex(p.rootHash) ? new Uint8Array(Buffer.from(p.rootHash, 'hex')) : undefined;
  const hashes = decodeList(p.hashes, 'hashes').map((h, i) => {
    if (!isSha256Hex(h)) throw new AirgapError('SMOKE_BAD_RESPONSE', `hashes[${i}] is not a SHA-256 hex`);
    return new Uint8Array(Buffer.from(h, 'hex'));
  });
  if (!root) throw new AirgapError('SMOKE_BAD_RESPONSE', 'rootHash is not a SHA-256 hex');
  // The proof's tree must be one the log signed: the current checkpoint, or the one it carries.
  const note = typeof p.checkpoint === 'string' ? p.checkpoint : '';
  const signedRoot =
    size === head.size
      ? hexRoot(head)
      : (() => {
          const cp = verifyCheckpointSignedByLogKey(
            note,
            head.checkpoint.split('\n')[0] ?? '',
            logPublicKey(t),
            t.origin,
          );
          return cp.size === size ? cp.rootHash : undefined;
        })();
  if (!signedRoot || !bytesEqual(signedRoot, root))
    throw new AirgapError(
      'SMOKE_PROOF_CHECKPOINT',
      `the proof's tree (size ${size}) is not a checkpoint the log signed`,
    );
  verifyRfc9162Inclusion(decodeInt(p.logIndex, 'inclusionProof.logIndex'), size, rfc6962LeafHash(body), hashes, root);
  return { logIndex: index, body, head, proofHashes: hashes.length };
}

/** Rekor v1: the indexes of entries whose signed digest is `digestHex` (the log's search index). */
export async function findApiV1Entries(t: LogTarget, digestHex: string): Promise<number[]> {
  const res = await logRequest(t.endpoint, 'POST', '/api/v1/index/retrieve', { hash: `sha256:${digestHex}` });
  if (res.status !== 200)
    throw new AirgapError('SMOKE_READ_FAILED', `POST /api/v1/index/retrieve answered HTTP ${res.status}`);
  const uuids = parseUntrustedJson(res.body, { what: 'the answer of the search index', code: 'SMOKE_BAD_RESPONSE' });
  const found: number[] = [];
  for (const u of decodeList(uuids, 'search results')) {
    if (typeof u !== 'string' || !/^[0-9a-f]{64,80}$/.test(u))
      throw new AirgapError('SMOKE_BAD_RESPONSE', 'the search index answered with something that is not an entry UUID');
    const e = parseJsonBody<Record<string, { logIndex?: unknown }>>(
      await logRequest(t.endpoint, 'GET', `/api/v1/log/entries/${u}`),
      `GET /api/v1/log/entries/${u}`,
    );
    const first = Object.values(e)[0];
    found.push(decodeInt(first?.logIndex, 'logIndex'));
  }
  return found.sort((a, b) => a - b);
}
