/**
 * Smoke test of a Rekor v1 log (rekor-server on Trillian), over TLS pinned to the install's CA:
 * submit a hashedrekord 0.0.1 entry, then verify its body, the signed entry timestamp (the log's
 * signature over the RFC 8785 JSON of body, integratedTime, logID, logIndex), the log ID, the
 * checkpoint (origin "<hostname> - <treeID>"), the inclusion proof, and — after a second entry —
 * the consistency proof the log serves between the two checkpoints.
 */
import { verify, type KeyObject } from 'node:crypto';
import { AirgapError } from '../errors.js';
import { CheckRun } from './checks.js';
import {
  decodeB64,
  decodeInt,
  decodeList,
  logRequest,
  parseJsonBody,
  show,
  showText,
  type LogEndpoint,
} from './log-http.js';
import { bytesEqual, rfc6962LeafHash, verifyRfc9162Consistency, verifyRfc9162Inclusion } from './merkle.js';
import { logKeyId, verifyCheckpointSignedByLogKey, type Checkpoint } from '../tlog/note.js';
import type { SmokeReport } from './report.js';
import { chainRecord, signedEntryRequest } from './entry-request.js';
import { isJsonObject } from '../util/untrusted-json.js';

export interface SmokeV1Options {
  endpoint: LogEndpoint;
  logKey: KeyObject;
  hostname: string;
  instance: string;
}

interface V1Entry {
  body?: string;
  integratedTime?: number;
  logID?: string;
  logIndex?: number;
  verification?: {
    inclusionProof?: {
      checkpoint?: string;
      hashes?: string[];
      logIndex?: number;
      rootHash?: string;
      treeSize?: number;
    };
    signedEntryTimestamp?: string;
  };
}

function hexBytes(s: unknown, what: string): Uint8Array {
  if (typeof s !== 'string' || !/^([0-9a-f]{2})*$/i.test(s))
    throw new AirgapError('SMOKE_BAD_RESPONSE', `${what} is not hex`);
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** RFC 8785 for the SET payload: sorted keys, no whitespace (strings and integers only). */
export function setPayload(e: { body: string; integratedTime: number; logID: string; logIndex: number }): Buffer {
  return Buffer.from(
    JSON.stringify({ body: e.body, integratedTime: e.integratedTime, logID: e.logID, logIndex: e.logIndex }),
  );
}

async function submit(run: CheckRun, o: SmokeV1Options, label: string) {
  const signed = signedEntryRequest('v1', chainRecord(o.instance));
  const { request, publicKeyPem: pem } = signed;
  const digestHex = signed.digest.toString('hex');
  const [uuid, entry] = await run.step(`${label}: submit`, async () => {
    const res = await logRequest(o.endpoint, 'POST', '/api/v1/log/entries', request);
    if (res.status !== 201)
      throw new AirgapError(
        'SMOKE_REJECTED',
        `POST /api/v1/log/entries answered HTTP ${res.status}, expected 201: ${showText(res.body)}`,
      );
    const map = parseJsonBody<Record<string, unknown>>(res, 'the new entry');
    const [id, e] = isJsonObject(map) ? (Object.entries(map)[0] ?? []) : [];
    if (!id || !isJsonObject(e))
      throw new AirgapError('SMOKE_BAD_RESPONSE', 'the log answered 201 without an entry object');
    const entry = e as V1Entry;
    return [[id, entry] as const, `HTTP 201, log index ${show(entry.logIndex)}, uuid ${show(id)}`];
  });
  const body = await run.step(`${label}: body carries our digest and key`, () => {
    const bytes = decodeB64(entry.body, 'body');
    const text = Buffer.from(bytes).toString('utf8');
    if (!text.includes(digestHex))
      throw new AirgapError('SMOKE_BODY_MISMATCH', `the entry's body does not carry our digest ${digestHex}`);
    if (!text.includes(Buffer.from(pem).toString('base64')))
      throw new AirgapError('SMOKE_BODY_MISMATCH', "the entry's body does not carry our public key");
    return [bytes, `hashedrekord with sha256 ${digestHex}`];
  });
  return { uuid, entry, body, digestHex };
}

async function verifyEntry(
  run: CheckRun,
  o: SmokeV1Options,
  s: Awaited<ReturnType<typeof submit>>,
  label: string,
): Promise<{ cp: Checkpoint; note: string; treeIndex: number; hashes: Uint8Array[] }> {
  const e = s.entry;
  const logIndex = decodeInt(e.logIndex, 'logIndex');
  await run.step(`${label}: log ID is the installed log key`, () => {
    const want = Buffer.from(logKeyId(o.hostname, o.logKey)).toString('hex');
    if (e.logID !== want)
      throw new AirgapError(
        'SMOKE_SIGNATURE_LOG_ID',
        `the entry's log ID ${show(e.logID)} is not the installed key's ${want}`,
      );
    return [undefined, want];
  });
  await run.step(`${label}: signed entry timestamp`, () => {
    const payload = setPayload({
      body: typeof e.body === 'string' ? e.body : show(e.body),
      integratedTime: decodeInt(e.integratedTime, 'integratedTime'),
      logID: typeof e.logID === 'string' ? e.logID : show(e.logID),
      logIndex,
    });
    const sig = decodeB64(e.verification?.signedEntryTimestamp, 'signedEntryTimestamp');
    if (!verify('sha256', payload, o.logKey, sig))
      throw new AirgapError('SMOKE_SIGNATURE_SET', 'the signed entry timestamp does not verify with the log key');
    const at = new Date(decodeInt(e.integratedTime, 'integratedTime') * 1000);
    return [
      undefined,
      `integrated at ${Number.isNaN(at.getTime()) ? `${show(e.integratedTime)} (not a date)` : at.toISOString()}`,
    ];
  });
  const p =
    isJsonObject(e.verification) && isJsonObject(e.verification.inclusionProof)
      ? e.verification.inclusionProof
      : undefined;
  if (!p) throw new AirgapError('SMOKE_PROOF_MISSING', 'the entry has no inclusion proof');
  const note = typeof p.checkpoint === 'string' ? p.checkpoint : '';
  const cp = await run.step(`${label}: signed checkpoint (origin, key, signature)`, () => {
    const origin = note.split('\n')[0] ?? '';
    if (!origin.startsWith(`${o.hostname} - `))
      throw new AirgapError(
        'NOTE_ORIGIN_MISMATCH',
        `checkpoint origin ${JSON.stringify(show(origin))} is not "${o.hostname} - <tree ID>"`,
      );
    const c = verifyCheckpointSignedByLogKey(note, origin, o.logKey, o.hostname);
    return [c, `${show(c.origin)}, size ${c.size}`];
  });
  const treeIndex = decodeInt(p.logIndex, 'inclusionProof.logIndex');
  if (p.hashes !== undefined && !Array.isArray(p.hashes))
    throw new AirgapError('SMOKE_BAD_RESPONSE', 'inclusionProof.hashes is not a list');
  const hashes = decodeList(p.hashes, 'inclusionProof.hashes').map((h, i) =>
    hexBytes(h, `inclusionProof.hashes[${i}]`),
  );
  await run.step(`${label}: inclusion proof against the checkpoint`, () => {
    if (decodeInt(p.treeSize, 'treeSize') !== cp.size || !bytesEqual(hexBytes(p.rootHash, 'rootHash'), cp.rootHash)) {
      throw new AirgapError(
        'SMOKE_PROOF_CHECKPOINT',
        `the proof's tree (size ${show(p.treeSize)}) is not the signed checkpoint's (size ${cp.size})`,
      );
    }
    verifyRfc9162Inclusion(treeIndex, cp.size, rfc6962LeafHash(s.body), hashes, cp.rootHash);
    return [undefined, `leaf ${treeIndex} in tree of ${cp.size}, ${hashes.length} hashes`];
  });
  return { cp, note, treeIndex, hashes };
}

export async function smokeV1(o: SmokeV1Options): Promise<SmokeReport> {
  const run = new CheckRun();
  const report: SmokeReport = {
    ok: false,
    kind: 'rekor-v1',
    url: o.endpoint.url,
    origin: o.hostname,
    checks: run.checks,
    entries: [],
  };
  try {
    await run.step('log reachable over TLS (pinned CA)', async () => {
      const res = await logRequest(o.endpoint, 'GET', '/api/v1/log');
      if (res.status !== 200) throw new AirgapError('SMOKE_UNREACHABLE', `GET /api/v1/log answered HTTP ${res.status}`);
      const info = parseJsonBody<{ treeSize?: number; treeID?: string }>(res, 'GET /api/v1/log');
      return [undefined, `tree ${show(info.treeID)}, size ${show(info.treeSize)}`];
    });
    const first = await submit(run, o, 'entry 1');
    const v1 = await verifyEntry(run, o, first, 'entry 1');
    const idx1 = decodeInt(first.entry.logIndex, 'logIndex');
    report.entries.push({ logIndex: idx1, uuid: first.uuid, canonicalizedBody: String(first.entry.body) });
    report.record = {
      event_type: 'transparency.checkpoint',
      payload: {
        rekor_log_index: idx1,
        rekor_server: o.endpoint.url,
        inclusion_proof: {
          log_index: v1.treeIndex,
          tree_size: v1.cp.size,
          root_hash: Buffer.from(v1.cp.rootHash).toString('hex'),
          hashes: v1.hashes.map((h) => Buffer.from(h).toString('hex')),
          checkpoint: v1.note,
        },
        checkpoint: v1.note,
        digest: `sha256:${first.digestHex}`,
      },
    };
    const second = await submit(run, o, 'entry 2');
    const v2 = await verifyEntry(run, o, second, 'entry 2');
    report.entries.push({
      logIndex: decodeInt(second.entry.logIndex, 'logIndex'),
      uuid: second.uuid,
      canonicalizedBody: String(second.entry.body),
    });
    await run.step('consistency between the two checkpoints (/api/v1/log/proof)', async () => {
      const res = await logRequest(
        o.endpoint,
        'GET',
        `/api/v1/log/proof?firstSize=${v1.cp.size}&lastSize=${v2.cp.size}`,
      );
      if (res.status !== 200)
        throw new AirgapError('SMOKE_READ_FAILED', `GET /api/v1/log/proof answered HTTP ${res.status}`);
      const proof = parseJsonBody<{ hashes?: string[]; rootHash?: string }>(res, 'consistency proof');
      const hashes = (proof.hashes ?? []).map((h, i) => hexBytes(h, `proof.hashes[${i}]`));
      verifyRfc9162Consistency(v1.cp.size, v2.cp.size, hashes, v1.cp.rootHash, v2.cp.rootHash);
      return [undefined, `size ${v1.cp.size} → ${v2.cp.size}, ${hashes.length} hashes`];
    });
    await run.step('published tree head read back (same key, not smaller)', async () => {
      const res = await logRequest(o.endpoint, 'GET', '/api/v1/log');
      const info = parseJsonBody<{ signedTreeHead?: string }>(res, 'GET /api/v1/log');
      const note = String(info.signedTreeHead ?? '');
      const cp = verifyCheckpointSignedByLogKey(note, note.split('\n')[0] ?? '', o.logKey, o.hostname);
      if (!cp.origin.startsWith(`${o.hostname} - `))
        throw new AirgapError('NOTE_ORIGIN_MISMATCH', `tree head origin ${show(cp.origin)}`);
      if (cp.size < v2.cp.size)
        throw new AirgapError(
          'SMOKE_PROOF_ROLLBACK',
          `the published tree head (size ${cp.size}) is smaller than the entry's (size ${v2.cp.size})`,
        );
      return [undefined, `size ${cp.size}`];
    });
    report.ok = true;
  } catch (e) {
    // A fault outside a named step (a malformed answer between steps) fails the run the same way.
    if (!run.failure) run.record('response from the log', e);
  }
  return report;
}
