/**
 * A `transparency.checkpoint` record (what the self-hosted guide's applications keep beside each
 * signed artifact: log index, digest, inclusion proof, checkpoint) checked against the log in one
 * go: the entry at that index signs that digest, the record's proof puts it in the record's
 * checkpoint, that checkpoint is signed by the log key, and the log today is consistent with it.
 */
import { AirgapError } from '../errors.js';
import type { LogEntry } from './entry-reader.js';
import type { LogHead } from './log-head.js';
import { decodeB64, decodeInt, decodeList, show } from './log-http.js';
import { rfc6962LeafHash, verifyRfc9162Inclusion } from './merkle.js';
import { verifyCheckpointSignedByLogKey } from '../tlog/note.js';
import { logPublicKey, type LogTarget } from './target.js';
import { digestHex, isDigest } from '../util/sha256.js';
import { isJsonObject, parseUntrustedJson } from '../util/untrusted-json.js';

export interface CheckpointRecord {
  logIndex: number;
  digestHex: string;
  proof: { index: number; size: number; rootHash: Uint8Array; hashes: Uint8Array[] };
  checkpoint: string;
}

const bad = (why: string) => new AirgapError('SMOKE_BAD_RESPONSE', `the record: ${why}`);

/** Hex or base64 (a v1 record carries hex, a v2 one base64): 32 bytes either way. */
function hash32(v: unknown, what: string): Uint8Array {
  if (typeof v === 'string' && /^[0-9a-f]{64}$/i.test(v)) return new Uint8Array(Buffer.from(v, 'hex'));
  const b = decodeB64(v, what);
  if (b.length !== 32) throw bad(`${what} is not 32 bytes`);
  return b;
}

export function parseCheckpointRecord(text: string): CheckpointRecord {
  const v = parseUntrustedJson(text, { what: 'the record', code: 'SMOKE_BAD_RESPONSE' });
  const r = (isJsonObject(v) ? v : {}) as { event_type?: unknown; payload?: Record<string, unknown> };
  if (
    !r ||
    typeof r !== 'object' ||
    r.event_type !== 'transparency.checkpoint' ||
    !r.payload ||
    typeof r.payload !== 'object'
  )
    throw bad('not a transparency.checkpoint event with a payload');
  const p = r.payload;
  const digest = isDigest(p.digest) ? digestHex(p.digest) : undefined;
  if (!digest) throw bad(`digest ${show(p.digest)} is not sha256:<64 hex>`);
  const ip = p.inclusion_proof as Record<string, unknown> | undefined;
  if (!ip || typeof ip !== 'object') throw bad('no inclusion_proof');
  const checkpoint =
    typeof ip.checkpoint === 'string' && ip.checkpoint
      ? ip.checkpoint
      : typeof p.checkpoint === 'string'
        ? p.checkpoint
        : '';
  if (!checkpoint) throw bad('no checkpoint');
  return {
    logIndex: decodeInt(p.rekor_log_index, 'rekor_log_index'),
    digestHex: digest,
    checkpoint,
    proof: {
      index: decodeInt(ip.log_index, 'inclusion_proof.log_index'),
      size: decodeInt(ip.tree_size, 'inclusion_proof.tree_size'),
      rootHash: hash32(ip.root_hash, 'inclusion_proof.root_hash'),
      hashes: decodeList(ip.hashes, 'inclusion_proof.hashes').map((h, i) => hash32(h, `inclusion_proof.hashes[${i}]`)),
    },
  };
}

export interface RecordCheck {
  entry: LogEntry;
  recordSize: number;
}

/**
 * `read` fetches the entry (proved into the current checkpoint); `prove` proves the current
 * checkpoint extends the record's.
 */
export async function checkRecord(
  rec: CheckpointRecord,
  t: LogTarget,
  read: (index: number) => Promise<LogEntry>,
  prove: (from: LogHead, to: LogHead) => Promise<void>,
): Promise<RecordCheck> {
  const entry = await read(rec.logIndex);
  if (entry.digestHex !== rec.digestHex)
    throw new AirgapError(
      'SMOKE_BODY_MISMATCH',
      `the entry at log index ${rec.logIndex} signs sha256:${entry.digestHex}, the record says sha256:${rec.digestHex}`,
    );
  const name = entry.head.checkpoint.split('\n')[0] ?? t.origin;
  const cp = verifyCheckpointSignedByLogKey(rec.checkpoint, name, logPublicKey(t), t.origin);
  if (cp.size !== rec.proof.size || Buffer.compare(Buffer.from(cp.rootHash), Buffer.from(rec.proof.rootHash)) !== 0) {
    throw new AirgapError(
      'SMOKE_PROOF_CHECKPOINT',
      `the record's proof (size ${rec.proof.size}) is not for the record's checkpoint (size ${cp.size})`,
    );
  }
  verifyRfc9162Inclusion(
    rec.proof.index,
    rec.proof.size,
    rfc6962LeafHash(entry.body),
    rec.proof.hashes,
    rec.proof.rootHash,
  );
  if (cp.size > entry.head.size)
    throw new AirgapError(
      'LOG_FORK',
      `the record's checkpoint (size ${cp.size}) is larger than the log's current one (size ${entry.head.size}): the log went back`,
    );
  await prove(
    { size: cp.size, rootHex: Buffer.from(cp.rootHash).toString('hex'), checkpoint: rec.checkpoint },
    entry.head,
  );
  return { entry, recordSize: cp.size };
}
