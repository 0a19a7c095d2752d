/**
 * The install receipt, written into the instance and into the new log as its first entry: an
 * in-toto statement of what the install verified and made (src/receipt/statement.ts), signed by an
 * install key made for it and thrown away once used (only its public half is kept), submitted as a
 * hashedrekord entry and read back proved into a signed checkpoint. The log's own history thus
 * begins with how it was made; an auditor checks it with the public key, the statement, and
 * `log get --index N`.
 */
import { generateKeyPairSync } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirgapError } from '../errors.js';
import type { BundleImage } from '../bundle/manifest.js';
import { provenanceText } from '../bundle/provenance-text.js';
import type { BundleVerifyResult } from '../bundle/verify-dir.js';
import type { InstancePaths } from '../instance/layout.js';
import { logTargetOf } from '../instance/log-target.js';
import { hashFile, sha256Hex } from '../oci/digest.js';
import type { InstanceState } from '../instance/state.js';
import { signedEntryRequest } from '../rekor/entry-request.js';
import { decodeInt, logRequest } from '../rekor/log-http.js';
import { isMissingFile, readRegularFile } from '../util/bounded-read.js';
import { receiptStatement, type ReceiptInput } from '../receipt/statement.js';
import type { LogStack } from '../stacks/stack.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { TOOL_VERSION } from '../util/package-root.js';
import type { Progress } from '../util/progress.js';
import { listFiles } from '../util/walk.js';
import { readUntrustedJson } from '../util/untrusted-json.js';

export interface ReceiptContext {
  verified: BundleVerifyResult;
  images: BundleImage[];
  profile: string;
  stack: LogStack;
  state: InstanceState;
  paths: InstancePaths;
  progress: Progress;
}

/** Where the receipt is in the log. */
export interface ReceiptEntry {
  logIndex: number;
  statementSha256: string;
}

/**
 * Records the receipt, unless an earlier attempt of this fresh install did (a failed install
 * leaves the log's data, and its entry stays the first): that one is kept.
 */
export async function recordInstallReceipt(c: ReceiptContext): Promise<ReceiptEntry> {
  const kept = await keptReceipt(c.paths);
  if (kept) {
    c.progress.step(`install receipt: kept the one an earlier attempt recorded (log entry ${kept.logIndex})`);
    return kept;
  }
  // Read before witnesses may have cosigned anything: the smoke test that follows checks the quorum.
  const target = await logTargetOf(c.state, { witnesses: false });
  const head = await c.stack.readHead(target);
  const statement = receiptStatement(await receiptInput(c, head.checkpoint));
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signed = signedEntryRequest(c.stack.apiVersion === 2 ? 'v2' : 'v1', statement, privateKey);
  const res = await logRequest(target.endpoint, 'POST', signed.path, signed.request);
  if (res.status !== 201)
    throw new AirgapError(
      'RECEIPT_REJECTED',
      `the log refused the install receipt: POST ${signed.path} answered HTTP ${res.status}`,
    );
  const logIndex = indexOfAnswer(res.body, c.stack.apiVersion);
  const entry = await c.stack.readEntry(target, logIndex);
  const statementSha256 = signed.digest.toString('hex');
  if (entry.digestHex !== statementSha256)
    throw new AirgapError(
      'RECEIPT_REJECTED',
      `log entry ${logIndex} signs sha256:${entry.digestHex}, not the receipt's sha256:${statementSha256}`,
    );
  await writeReceipt(c.paths, {
    statement,
    signature: signed.signature,
    publicKeyPem: signed.publicKeyPem,
    logIndex,
    head: entry.head.checkpoint,
  });
  c.progress.step(
    `install receipt: log entry ${logIndex}, sha256:${statementSha256}, proved into the checkpoint of size ${entry.head.size}`,
  );
  return { logIndex, statementSha256 };
}

async function receiptInput(c: ReceiptContext, checkpoint: string): Promise<ReceiptInput> {
  const m = c.verified.manifest;
  return {
    bundleSha256: c.verified.manifestSha256,
    bundleCreatedAt: m.createdAt,
    bundleSignedBy: c.verified.signedBy,
    instance: c.state.instance,
    profile: c.profile,
    release: c.state.bundle.release,
    tool: TOOL_VERSION,
    installedAt: new Date().toISOString(),
    images: c.images.map((i) => ({
      ref: i.ref,
      digest: i.digest,
      imageId: i.configDigest,
      provenance: provenanceText(i.provenance),
      ...(i.provenance ? { verdict: i.provenance } : {}),
    })),
    configuration: await configurationDigests(c.paths),
    checkpoint,
  };
}

/** Every rendered configuration file of the instance, with its SHA-256. */
async function configurationDigests(paths: InstancePaths): Promise<Array<{ path: string; sha256: string }>> {
  const out: Array<{ path: string; sha256: string }> = [];
  for (const rel of (await listFiles(paths.config)).sort()) {
    out.push({ path: `config/${rel}`, sha256: (await hashFile(path.join(paths.config, rel))).sha256 });
  }
  return out;
}

/** The log index the log answered with: Rekor v2's TransparencyLogEntry, or Rekor v1's {uuid: LogEntry}. */
function indexOfAnswer(body: Buffer, api: 1 | 2): number {
  const doc = readUntrustedJson(body, { what: 'the log’s answer to the install receipt', code: 'RECEIPT_REJECTED' });
  if (api === 2) return decodeInt(doc.at('logIndex').raw, 'logIndex');
  const first = doc.keys()[0];
  if (first === undefined) return doc.fail('holds no entry');
  return decodeInt(doc.at(first).at('logIndex').raw, 'logIndex');
}

/** The receipt an earlier attempt wrote, with its entry's index. */
async function keptReceipt(paths: InstancePaths): Promise<ReceiptEntry | undefined> {
  let text: Buffer;
  try {
    text = await readRegularFile(paths.receiptEntry, 64 * 1024, 'RECEIPT_INVALID', 'install receipt entry');
  } catch (e) {
    if (isMissingFile(e)) return undefined;
    throw e;
  }
  const entry = readUntrustedJson(text, { what: paths.receiptEntry, code: 'RECEIPT_INVALID' });
  const statement = await readRegularFile(paths.receiptStatement, 1024 * 1024, 'RECEIPT_INVALID', 'install receipt');
  return {
    logIndex: entry.at('logIndex').int(),
    statementSha256: sha256Hex(statement),
  };
}

interface ReceiptFiles {
  statement: Buffer;
  signature: Buffer;
  publicKeyPem: string;
  logIndex: number;
  head: string;
}

async function writeReceipt(paths: InstancePaths, r: ReceiptFiles): Promise<void> {
  await fsp.mkdir(paths.receipt, { recursive: true, mode: 0o755 });
  await writeFileAtomic(paths.receiptStatement, r.statement, { mode: 0o644 });
  await writeFileAtomic(paths.receiptSignature, r.signature.toString('base64') + '\n', { mode: 0o644 });
  await writeFileAtomic(paths.receiptKey, r.publicKeyPem, { mode: 0o644 });
  const entry = { logIndex: r.logIndex, checkpoint: r.head };
  await writeFileAtomic(paths.receiptEntry, JSON.stringify(entry, null, 2) + '\n', { mode: 0o644 });
}
