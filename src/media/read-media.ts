/**
 * Verifies packed media, and optionally unpacks it, in phases that each return what they found:
 *   1. `readTrustedIndex`: the transfer index's signature (nothing else is read until it holds);
 *   2. `checkStructure`: every chunk present, its size, no strays (cheap, before any hashing);
 *   3. `verifyContents`: the chunks as one archive, each byte checked once against the signed
 *      manifest — by `fastVerify` when only verifying a whole medium, else by `streamVerify`
 *      (stream-verify.ts), which names every fault and stages files when unpacking;
 *   4. `nameDamagedChunks`: only when something failed, every present chunk hashed to name the damaged;
 *   5. `commitStaging` (unpack-staging.ts): the staged files become the bundle, verified once more.
 * Unpacking writes into a staging directory that becomes the bundle only when everything verified;
 * a failed run leaves nothing in the target, and `resume` keeps what was verified.
 * Every fault is collected in one list carried by the read's context and reported at once.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { AggregateAirgapError, AirgapError, FaultList } from '../errors.js';
import type { BundleManifest } from '../bundle/manifest.js';
import { verifyDetachedWithAnyKey } from '../bundle/signing.js';
import type { TrustedKeys } from '../bundle/trusted-manifest.js';
import { hashFile, sha256Hex } from '../oci/digest.js';
import { WorkerHasher } from '../util/hash-worker.js';
import { readRegularFile, SMALL_JSON_LIMIT } from '../util/bounded-read.js';
import type { Progress } from '../util/progress.js';
import { fastVerify } from './fast-verify.js';
import type { ArchiveHead } from './pack-format.js';
import { streamVerify } from './stream-verify.js';
import {
  CHUNK_NAME_RE,
  parseIndex,
  TRANSFER_INDEX,
  TRANSFER_INDEX_SIG,
  type ChunkEntry,
  type TransferIndex,
} from './transfer-index.js';
import { commitStaging, openStaging, saveUnpackState, type Staging } from './unpack-staging.js';

export interface ReadMediaOptions {
  mediaDir: string;
  keys: TrustedKeys;
  progress: Progress;
  /** Unpack into this directory (created; must be empty, but for a resumed unpack's staging). */
  unpackTo?: string;
  resume?: boolean;
}

export interface ReadMediaResult {
  index: TransferIndex;
  manifest: BundleManifest;
  signedBy: string;
  chunksVerified: number;
  filesWritten: number;
  filesSkipped: number;
  unpackedTo?: string;
}

/** What every phase of one read works on: the trusted index, the chunks present, where faults go. */
export interface MediaRead {
  /** The medium's directory, resolved. */
  dir: string;
  index: TransferIndex;
  keys: TrustedKeys;
  progress: Progress;
  /** The chunks present with their signed sizes: the only ones read. */
  present: ChunkEntry[];
  /** Every chunk is present with its size, and there is no stray one. */
  whole: boolean;
  /** Every fault any phase found (capped), reported together at the end. */
  faults: FaultList;
  /** The second core's hasher, closed when the read ends. */
  hasher: WorkerHasher;
  /** When unpacking: where verified files are staged, and the resume state. */
  staging?: Staging;
}

/** What the contents phase found: the verified front of the archive, and counts. */
interface ContentsRead {
  head?: ArchiveHead;
  /** The fast path vouched for everything (nothing staged, no fault possible). */
  fast: boolean;
  chunksVerified: number;
  filesWritten: number;
  filesSkipped: number;
}

export async function readMedia(opts: ReadMediaOptions): Promise<ReadMediaResult> {
  const dir = path.resolve(opts.mediaDir);
  const trusted = await readTrustedIndex(dir, opts.keys);
  const structure = await checkStructure(dir, trusted.index);
  const staging = opts.unpackTo
    ? await openStaging({
        unpackTo: opts.unpackTo,
        indexSha256: trusted.sha256,
        resume: opts.resume ?? false,
        progress: opts.progress,
      })
    : undefined;
  const ctx: MediaRead = {
    dir,
    index: trusted.index,
    keys: opts.keys,
    progress: opts.progress,
    present: structure.present,
    whole: structure.faults.length === 0,
    faults: new FaultList(),
    hasher: new WorkerHasher(),
    ...(staging ? { staging } : {}),
  };
  for (const f of structure.faults) ctx.faults.push(f);
  let found: ContentsRead;
  try {
    found = await verifyContents(ctx);
  } finally {
    await ctx.hasher.close();
  }
  if (!found.fast) {
    ctx.faults.prioritize((f) => f.code === 'MEDIA_CHUNK_DIGEST_MISMATCH');
    ctx.progress.endBytes();
    if (staging) await saveUnpackState(staging);
  }
  if (ctx.faults.length || !found.head) throw verificationFailed(ctx, found.head);
  const unpackedTo = staging ? await commitStaging(staging, found.head, opts.keys) : undefined;
  return {
    index: trusted.index,
    manifest: found.head.manifest,
    signedBy: trusted.signedBy,
    chunksVerified: found.chunksVerified,
    filesWritten: found.filesWritten,
    filesSkipped: found.filesSkipped,
    ...(unpackedTo ? { unpackedTo } : {}),
  };
}

/** 1. The transfer index, trusted before anything else is read. */
async function readTrustedIndex(
  dir: string,
  keys: TrustedKeys,
): Promise<{ index: TransferIndex; sha256: string; signedBy: string }> {
  const file = path.join(dir, TRANSFER_INDEX);
  const text = await readRegularFile(file, SMALL_JSON_LIMIT, 'MEDIA_INDEX_MISSING', 'transfer index');
  const sig = await readRegularFile(
    path.join(dir, TRANSFER_INDEX_SIG),
    SMALL_JSON_LIMIT,
    'MEDIA_INDEX_SIGNATURE_MISSING',
    'transfer index signature',
  );
  const signedBy = verifyDetachedWithAnyKey(text, sig.toString('utf8'), keys, file);
  return { index: parseIndex(text.toString('utf8'), file), sha256: sha256Hex(text), signedBy };
}

/** 2. Structure: every chunk present with its size, nothing extra. Returns the chunks fit to read. */
async function checkStructure(
  dir: string,
  index: TransferIndex,
): Promise<{ present: ChunkEntry[]; faults: AirgapError[] }> {
  const faults: AirgapError[] = [];
  const present: ChunkEntry[] = [];
  for (const c of index.chunks) {
    const st = await fsp.lstat(path.join(dir, c.name)).catch(() => undefined);
    if (st && !st.isFile())
      faults.push(
        new AirgapError(
          'MEDIA_UNSAFE_ENTRY',
          `chunk ${c.index} (${c.name}) is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}; refused`,
        ),
      );
    else if (!st) faults.push(new AirgapError('MEDIA_CHUNK_MISSING', `chunk ${c.index} missing: ${c.name}`));
    else if (st.size !== c.size)
      faults.push(
        new AirgapError(
          'MEDIA_CHUNK_SIZE_MISMATCH',
          `chunk ${c.index} (${c.name}): size ${st.size} expected ${c.size}${st.size < c.size ? ' (truncated)' : ''}`,
        ),
      );
    else present.push(c);
  }
  const names = new Set(index.chunks.map((c) => c.name));
  for (const n of await fsp.readdir(dir)) {
    if (CHUNK_NAME_RE.test(n) && !names.has(n))
      faults.push(new AirgapError('MEDIA_CHUNK_EXTRA', `${n}: not listed in the transfer index`));
  }
  return { present, faults };
}

/**
 * 3. The contents, hashing each byte once. Every byte of the archive is a header, a file's content,
 * padding or the end marker, and the chunk sizes are the signed index's: so the chunks are verified
 * completely without hashing them; their own hashes are computed only to name a damaged chunk.
 */
async function verifyContents(ctx: MediaRead): Promise<ContentsRead> {
  const total = ctx.present.reduce((a, c) => a + c.size, 0);
  ctx.progress.startBytes(ctx.staging ? 'verifying and unpacking' : 'verifying', total);
  // Verify only, and the medium is whole: the fast path (each byte read once, on both cores).
  // Any doubt, and the thorough pass below runs and names every fault.
  if (ctx.whole && !ctx.staging) {
    const head = await fastVerify(ctx.dir, ctx.index, ctx.keys, ctx.hasher, (n) => ctx.progress.addBytes(n));
    if (head) {
      ctx.progress.endBytes();
      return { head, fast: true, chunksVerified: ctx.present.length, filesWritten: 0, filesSkipped: 0 };
    }
    ctx.progress.startBytes('verifying (a fault was found: naming it)', total);
  }
  const pass = ctx.whole ? await streamVerify(ctx) : { filesWritten: 0, filesSkipped: 0 };
  const chunksVerified = ctx.faults.length === 0 && pass.head ? ctx.present.length : await nameDamagedChunks(ctx);
  return { ...pass, fast: false, chunksVerified };
}

/** 4. Something is wrong: every present chunk hashed, on both cores, to name the damaged ones. Returns how many hashed right. */
async function nameDamagedChunks(ctx: MediaRead): Promise<number> {
  let verified = 0;
  const check = async (c: ChunkEntry, useWorker: boolean) => {
    const file = path.join(ctx.dir, c.name);
    let got: string;
    if (useWorker) {
      const h = ctx.hasher.start();
      for await (const b of createReadStream(file, { highWaterMark: 1024 * 1024 })) await h.update(b as Buffer);
      got = await h.digest();
    } else {
      got = (await hashFile(file)).sha256;
    }
    if (got !== c.sha256)
      ctx.faults.push(
        new AirgapError(
          'MEDIA_CHUNK_DIGEST_MISMATCH',
          `chunk ${c.index} (${c.name}): sha256 mismatch, expected ${c.sha256}, got ${got}`,
        ),
      );
    else verified++;
  };
  for (let i = 0; i < ctx.present.length; i += 2) {
    await Promise.all(ctx.present.slice(i, i + 2).map((c, k) => check(c, k === 1)));
  }
  return verified;
}

function verificationFailed(ctx: MediaRead, head: ArchiveHead | undefined): AggregateAirgapError {
  const { faults } = ctx;
  const incomplete = faults.some((f) => f.code === 'MEDIA_CHUNK_MISSING' || f.code === 'MEDIA_CHUNK_SIZE_MISMATCH');
  if (!head && !faults.length)
    faults.push(new AirgapError('MEDIA_MANIFEST_MISSING', 'the archive holds no bundle.json'));
  return new AggregateAirgapError(
    incomplete ? 'MEDIA_INCOMPLETE' : 'MEDIA_VERIFY_FAILED',
    `${ctx.dir} failed verification (${faults.length} faults)${ctx.staging ? `; nothing was unpacked into ${ctx.staging.target}` : ''}:`,
    faults,
  );
}
