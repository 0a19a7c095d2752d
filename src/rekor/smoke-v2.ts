/**
 * Smoke test of a Rekor v2 (rekor-tiles) log, over TLS pinned to the install's CA:
 * submit a hashedrekord v0.0.2 entry signed by an ephemeral ECDSA P-256 key, then verify its
 * body, leaf hash, the signed checkpoint (origin, key ID, log signature), the RFC 6962 inclusion
 * proof against that checkpoint, the published checkpoint read back, and — after a second entry —
 * a consistency proof between the two checkpoints, computed from the log's own tiles.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { chainRecord, signedEntryRequest } from './entry-request.js';
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
import { parseUntrustedJson } from '../util/untrusted-json.js';
import { bytesEqual, rfc6962LeafHash, verifyRfc9162Inclusion } from './merkle.js';
import { logKeyId, verifyCheckpointSignedByLogKey, type Checkpoint } from '../tlog/note.js';
import type { SmokeReport } from './report.js';
import { verifyConsistencyFromTiles } from './tiles.js';
import { requestTimestamp } from './timestamp.js';
import { requireQuorum } from '../witness/quorum.js';
import type { WitnessPolicy } from '../witness/policy.js';

export interface SmokeV2Options {
  endpoint: LogEndpoint;
  logKey: KeyObject;
  origin: string;
  instance: string;
  /** The timestamp authority beside the log (its chain, leaf first): asked for a timestamp too. */
  tsaChainPem?: string;
  /** The witnesses whose cosignatures every checkpoint must carry (the policy's quorum). */
  witnessPolicy?: WitnessPolicy;
}

interface TransparencyLogEntry {
  logIndex?: string;
  logId?: { keyId?: string };
  kindVersion?: { kind?: string; version?: string };
  inclusionProof?: {
    logIndex?: string;
    rootHash?: string;
    treeSize?: string;
    hashes?: string[];
    checkpoint?: { envelope?: string };
  };
  canonicalizedBody?: string;
}

interface Submitted {
  logIndex: number;
  body: Uint8Array;
  proof: { index: number; size: number; root: Uint8Array; hashes: Uint8Array[] };
  envelope: string;
  digestB64: string;
  entry: TransparencyLogEntry;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

export { chainRecord };

async function submit(run: CheckRun, o: SmokeV2Options, label: string): Promise<Submitted> {
  const { request, digest, spki } = signedEntryRequest('v2', chainRecord(o.instance));
  const entry = await run.step(`${label}: submit`, async () => {
    const res = await logRequest(o.endpoint, 'POST', '/api/v2/log/entries', request);
    if (res.status !== 201) {
      throw new AirgapError(
        'SMOKE_REJECTED',
        `POST /api/v2/log/entries answered HTTP ${res.status}, expected 201: ${showText(res.body)}`,
      );
    }
    const e = parseJsonBody<TransparencyLogEntry>(res, 'the new entry');
    return [e, `HTTP 201, log index ${show(e.logIndex)}`];
  });
  const body = await run.step(`${label}: canonicalized body carries our digest and key`, () => {
    const bytes = decodeB64(entry.canonicalizedBody, 'canonicalizedBody');
    const parsed = parseUntrustedJson(bytes, { what: 'canonicalizedBody', code: 'SMOKE_BODY_MISMATCH' });
    const strings = new Set<string>();
    const walk = (v: unknown) => {
      if (typeof v === 'string') strings.add(v);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(parsed);
    if (!strings.has(b64(digest)))
      throw new AirgapError('SMOKE_BODY_MISMATCH', `the entry's body does not carry our digest ${b64(digest)}`);
    if (!strings.has(b64(spki)))
      throw new AirgapError('SMOKE_BODY_MISMATCH', "the entry's body does not carry our public key");
    if (entry.kindVersion?.kind !== 'hashedrekord')
      throw new AirgapError(
        'SMOKE_BODY_MISMATCH',
        `entry kind is ${show(entry.kindVersion?.kind)}, expected hashedrekord`,
      );
    return [bytes, `hashedrekord ${show(entry.kindVersion?.version ?? '')} with digest ${b64(digest)}`];
  });
  const logIndex = decodeInt(entry.logIndex, 'logIndex');
  const p = entry.inclusionProof;
  if (!p) throw new AirgapError('SMOKE_PROOF_MISSING', 'the entry has no inclusion proof');
  const proof = {
    index: decodeInt(p.logIndex, 'inclusionProof.logIndex'),
    size: decodeInt(p.treeSize, 'inclusionProof.treeSize'),
    root: decodeB64(p.rootHash, 'inclusionProof.rootHash'),
    hashes: decodeList(p.hashes, 'inclusionProof.hashes').map((h, i) => decodeB64(h, `inclusionProof.hashes[${i}]`)),
  };
  return { logIndex, body, proof, envelope: String(p.checkpoint?.envelope ?? ''), digestB64: b64(digest), entry };
}

async function verifyEntry(run: CheckRun, o: SmokeV2Options, s: Submitted, label: string): Promise<Checkpoint> {
  const leaf = await run.step(`${label}: leaf hash`, () => {
    const h = rfc6962LeafHash(s.body);
    return [h, `SHA-256(0x00 || body) = ${Buffer.from(h).toString('hex')}`];
  });
  const cp = await run.step(`${label}: signed checkpoint (origin, key ID, signature)`, () => {
    const c = verifyCheckpointSignedByLogKey(s.envelope, o.origin, o.logKey);
    return [c, `${show(c.origin)}, size ${c.size}, signed by the log key`];
  });
  if (o.witnessPolicy)
    await witnessStep(run, o.witnessPolicy, s.envelope, `${label}: witness quorum on the checkpoint`);
  await run.step(`${label}: log ID is the installed log key`, () => {
    const want = logKeyId(o.origin, o.logKey);
    const got = decodeB64(s.entry.logId?.keyId, 'logId.keyId');
    if (!bytesEqual(got, want))
      throw new AirgapError(
        'SMOKE_SIGNATURE_LOG_ID',
        `the entry's log ID ${Buffer.from(got).toString('hex')} is not the installed key's ${Buffer.from(want).toString('hex')}`,
      );
    return [undefined, Buffer.from(want).toString('hex')];
  });
  await run.step(`${label}: inclusion proof against the checkpoint`, () => {
    if (s.proof.index !== s.logIndex)
      throw new AirgapError('SMOKE_PROOF_INDEX', `proof is for index ${s.proof.index}, the entry is ${s.logIndex}`);
    if (s.proof.size !== cp.size || !bytesEqual(s.proof.root, cp.rootHash)) {
      throw new AirgapError(
        'SMOKE_PROOF_CHECKPOINT',
        `the proof's tree (size ${s.proof.size}) is not the signed checkpoint's (size ${cp.size})`,
      );
    }
    verifyRfc9162Inclusion(s.logIndex, cp.size, leaf, s.proof.hashes, cp.rootHash);
    return [undefined, `leaf ${s.logIndex} in tree of ${cp.size}, ${s.proof.hashes.length} hashes`];
  });
  return cp;
}

/** The checkpoint carries valid cosignatures of the policy's quorum (C2SP tlog-cosignature). */
async function witnessStep(run: CheckRun, policy: WitnessPolicy, note: string, name: string): Promise<void> {
  await run.step(name, () => {
    const v = requireQuorum(note, policy, { what: name });
    return [undefined, `${v.rule}: cosigned by ${v.cosigned.map((c) => c.name).join(', ')}`];
  });
}

async function readCheckpoint(o: SmokeV2Options): Promise<{ note: string; cp: Checkpoint }> {
  const res = await logRequest(o.endpoint, 'GET', '/checkpoint');
  if (res.status !== 200) throw new AirgapError('SMOKE_READ_FAILED', `GET /checkpoint answered HTTP ${res.status}`);
  const note = res.body.toString('utf8');
  return { note, cp: verifyCheckpointSignedByLogKey(note, o.origin, o.logKey) };
}

export async function smokeV2(o: SmokeV2Options): Promise<SmokeReport> {
  const run = new CheckRun();
  const report: SmokeReport = {
    ok: false,
    kind: 'rekor-v2',
    url: o.endpoint.url,
    origin: o.origin,
    checks: run.checks,
    entries: [],
  };
  try {
    await run.step('log reachable over TLS (pinned CA)', async () => {
      const res = await logRequest(o.endpoint, 'GET', '/healthz');
      if (res.status !== 200) throw new AirgapError('SMOKE_UNREACHABLE', `GET /healthz answered HTTP ${res.status}`);
      return [undefined, showText(res.body)];
    });
    const first = await submit(run, o, 'entry 1');
    const cp1 = await verifyEntry(run, o, first, 'entry 1');
    report.entries.push({ logIndex: first.logIndex, canonicalizedBody: b64(first.body) });
    report.record = {
      event_type: 'transparency.checkpoint',
      payload: {
        rekor_log_index: first.logIndex,
        rekor_server: o.endpoint.url,
        inclusion_proof: {
          log_index: first.logIndex,
          tree_size: cp1.size,
          root_hash: Buffer.from(cp1.rootHash).toString('hex'),
          hashes: first.proof.hashes.map((h) => Buffer.from(h).toString('hex')),
          checkpoint: first.envelope,
        },
        checkpoint: first.envelope,
        digest: `sha256:${Buffer.from(first.digestB64, 'base64').toString('hex')}`,
      },
    };
    const published = await run.step('published checkpoint read back (same key, not smaller)', async () => {
      const { note, cp } = await readCheckpoint(o);
      if (cp.size < cp1.size)
        throw new AirgapError(
          'SMOKE_PROOF_ROLLBACK',
          `the published checkpoint (size ${cp.size}) is smaller than the entry's (size ${cp1.size})`,
        );
      return [note, `size ${cp.size}`];
    });
    if (o.witnessPolicy)
      await witnessStep(run, o.witnessPolicy, published, 'witness quorum on the published checkpoint');
    const second = await submit(run, o, 'entry 2');
    const cp2 = await verifyEntry(run, o, second, 'entry 2');
    report.entries.push({ logIndex: second.logIndex, canonicalizedBody: b64(second.body) });
    await run.step("consistency between the two checkpoints, from the log's tiles", async () => {
      const hashes = await verifyConsistencyFromTiles(cp1, cp2, async (path) => {
        const res = await logRequest(o.endpoint, 'GET', `/${path}`);
        if (res.status !== 200) throw new AirgapError('SMOKE_READ_FAILED', `GET /${path} answered HTTP ${res.status}`);
        return new Uint8Array(res.body);
      });
      return [undefined, `size ${cp1.size} → ${cp2.size}, ${hashes} hashes`];
    });
    if (o.tsaChainPem) {
      const chain = o.tsaChainPem;
      await run.step('timestamp authority: an RFC 3161 timestamp of the entry, verified', async () => {
        const ts = await requestTimestamp(o.endpoint, createHash('sha256').update(first.body).digest(), chain);
        return [undefined, `${ts.genTime.toISOString()} by ${ts.signer}`];
      });
    }
    report.ok = true;
  } catch (e) {
    // A fault outside a named step (a malformed answer between steps) fails the run the same way.
    if (!run.failure) run.record('response from the log', e);
  }
  return report;
}
