/**
 * `bundle pack`: a deterministic tar of a bundle (bundle.json and its signature first, then every
 * listed file in manifest order; owner 0, fixed mtime, modes 0644/0755; no compression, the layers
 * are compressed already), as one file or fixed-size chunks, plus a signed transfer index.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { AirgapError } from '../errors.js';
import { bundlePath, BundleLayout } from '../bundle/layout.js';
import { parseManifest, type BundleManifest } from '../bundle/manifest.js';
import { signDetached } from '../bundle/sign-detached.js';
import { sha256Hex } from '../oci/digest.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import type { Progress } from '../util/progress.js';
import { ChunkedWriter } from './chunked-writer.js';
import { SharedSlots, WorkerHasher } from '../util/hash-worker.js';
import { BLOCK, TAR_END, tarFileHeader, tarPadding } from '../util/tar.js';
import { packMtime } from './pack-format.js';
import {
  ARCHIVE_NAME,
  CHUNK_NAME_RE,
  serializeIndex,
  TRANSFER_INDEX,
  TRANSFER_INDEX_SIG,
  type ChunkEntry,
  type TransferIndex,
} from './transfer-index.js';

/** Shared read buffers: a few in flight (one being read, one written, some being hashed). */
const SLOTS = 6;
const SLOT_SIZE = 4 * 1024 * 1024;

export interface PackOptions {
  bundleDir: string;
  outDir: string;
  chunkSize: number;
  signingKey: KeyObject;
  progress: Progress;
}

/**
 * Pack writes to an empty directory. What an interrupted pack left there (chunk files and its own
 * temp files, all regular files, and no index: never a finished medium) is removed, so a rerun
 * completes. Anything else — a finished medium, another file, a link, a dot file that is not ours
 * — is in the way, and named.
 */
async function clearInterruptedPack(out: string): Promise<void> {
  const existing = await fsp.readdir(out);
  if (!existing.length) return;
  const ours = (n: string) =>
    CHUNK_NAME_RE.test(n) ||
    n === TRANSFER_INDEX_SIG ||
    /^\.tmp-(bundle\.tar(\.\d{3,})?|transfer-index\.json(\.sig)?)-[0-9a-f]+$/.test(n);
  const regular = await Promise.all(
    existing.map((n) =>
      fsp.lstat(path.join(out, n)).then(
        (st) => st.isFile(),
        () => false,
      ),
    ),
  );
  if (existing.includes(TRANSFER_INDEX) || !existing.every((n, i) => ours(n) && regular[i])) {
    throw new AirgapError(
      'USAGE_OUT_NOT_EMPTY',
      `${out} is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', ...' : ''}); pack writes to an empty directory`,
    );
  }
  for (const n of existing) await fsp.rm(path.join(out, n), { force: true });
}

/** A bundle as pack reads it: the signed manifest, its bytes and its signature's. */
interface SignedBundle {
  dir: string;
  manifest: BundleManifest;
  manifestText: Buffer;
  signature: Buffer;
}

/** An entry of the archive, in pack's order: bundle.json, its signature, then the listed files. */
interface ArchiveEntry {
  path: string;
  size: number;
  /** The signed digest (listed files; bundle.json and its signature are written from memory). */
  sha256?: string;
  mode: number;
}

/** One pack: what goes into the archive, its size, and where it is written. */
interface PackRun {
  opts: PackOptions;
  bundle: SignedBundle;
  entries: ArchiveEntry[];
  /** Headers, contents, padding and the end marker. */
  total: number;
  out: string;
}

/** The archive being written: the chunk writer, the memory shared with the hashers, the file checks. */
interface ArchiveWrite {
  run: PackRun;
  writer: ChunkedWriter;
  slots: SharedSlots;
  fileHasher: WorkerHasher;
  /** Each file's digest, compared with the signed one when the worker answers. */
  checks: Array<Promise<void>>;
  /** The first file found changed: the writing stops at the next file. */
  changed?: AirgapError;
}

type FileHash = ReturnType<WorkerHasher['start']>;

export async function packBundle(opts: PackOptions): Promise<TransferIndex> {
  const bundle = await readSignedBundle(opts.bundleDir);
  const entries = await archiveEntries(bundle);
  const total = entries.reduce((a, e) => a + BLOCK + e.size + tarPadding(e.size).length, 0) + TAR_END.length;
  const run: PackRun = { opts, bundle, entries, total, out: path.resolve(opts.outDir) };
  await fsp.mkdir(run.out, { recursive: true });
  await clearInterruptedPack(run.out);
  const chunks = await writeChunks(run);
  opts.progress.endBytes();
  return writeSignedIndex(run, chunks);
}

/** A finished, signed bundle: its manifest and signature (a bundle still being created is refused). */
async function readSignedBundle(bundleDir: string): Promise<SignedBundle> {
  const dir = path.resolve(bundleDir);
  if (
    await fsp.stat(bundlePath.marker(dir)).then(
      () => true,
      () => false,
    )
  ) {
    throw new AirgapError(
      'BUNDLE_INCOMPLETE',
      `${dir} is an unfinished bundle (its create was interrupted); run bundle create again`,
    );
  }
  let manifestText: Buffer;
  let signature: Buffer;
  try {
    manifestText = await fsp.readFile(bundlePath.manifest(dir));
    signature = await fsp.readFile(bundlePath.signature(dir));
  } catch (e) {
    throw new AirgapError(
      'BUNDLE_MANIFEST_MISSING',
      `${dir} is not a signed bundle (bundle.json or bundle.json.sig missing)`,
      { cause: e },
    );
  }
  return {
    dir,
    manifest: parseManifest(manifestText.toString('utf8'), bundlePath.manifest(dir)),
    manifestText,
    signature,
  };
}

/** The archive's entries; each listed file must be there (its mode, 0644 or 0755, is taken from disk). */
async function archiveEntries(b: SignedBundle): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [
    { path: BundleLayout.MANIFEST, size: b.manifestText.length, mode: 0o644 },
    { path: BundleLayout.SIGNATURE, size: b.signature.length, mode: 0o644 },
  ];
  for (const f of b.manifest.files) {
    const st = await fsp.stat(path.join(b.dir, f.path)).catch(() => undefined);
    if (!st) throw new AirgapError('BUNDLE_FILE_MISSING', `${f.path}: missing from ${b.dir}`);
    entries.push({ path: f.path, size: f.size, sha256: f.sha256, mode: st.mode & 0o111 ? 0o755 : 0o644 });
  }
  return entries;
}

/**
 * Writes the archive as chunks, or nothing: on any failure the chunk being written and the ones
 * already committed go. Files are read into memory shared with two hashing workers: one hashes the
 * chunks, the other each file, which must hash to the signed manifest's digest — the medium holds
 * exactly the signed bytes. The bytes written are the bytes hashed, never copied between threads;
 * the main thread only reads and writes, reading the next piece while the last one is written.
 */
async function writeChunks(run: PackRun): Promise<ChunkEntry[]> {
  const slots = new SharedSlots(SLOTS, SLOT_SIZE);
  const fileHasher = new WorkerHasher(slots);
  const chunkHasher = new WorkerHasher(slots);
  const count = Math.max(1, Math.ceil(run.total / run.opts.chunkSize));
  const w: ArchiveWrite = {
    run,
    writer: new ChunkedWriter(run.out, run.opts.chunkSize, count, chunkHasher),
    slots,
    fileHasher,
    checks: [],
  };
  run.opts.progress.startBytes('packing', run.total);
  try {
    await writeArchive(w);
    const chunks = await w.writer.finish();
    await Promise.all(w.checks);
    if (w.changed) throw w.changed;
    return chunks;
  } catch (e) {
    await Promise.all(w.checks);
    await w.writer.abort();
    for (const c of w.writer.chunks) await fsp.rm(path.join(run.out, c.name), { force: true });
    throw e;
  } finally {
    await chunkHasher.close();
    await fileHasher.close();
  }
}

/** Every entry: its header, its bytes, its padding; then the end marker. */
async function writeArchive(w: ArchiveWrite): Promise<void> {
  const { bundle, entries } = w.run;
  const mtime = packMtime(bundle.manifest.createdAt);
  for (const e of entries) {
    if (w.changed) throw w.changed;
    await w.writer.write(tarFileHeader(e.path, e.size, e.mode, mtime));
    if (e.path === BundleLayout.MANIFEST) await w.writer.write(bundle.manifestText);
    else if (e.path === BundleLayout.SIGNATURE) await w.writer.write(bundle.signature);
    else await writeListedFile(w, e);
    await w.writer.write(tarPadding(e.size));
  }
  await w.writer.write(TAR_END);
}

/** A listed file, hashed on its way into the archive: its size now, its digest when the worker answers. */
async function writeListedFile(w: ArchiveWrite, e: ArchiveEntry): Promise<void> {
  const hash = w.fileHasher.start();
  const fh = await fsp.open(path.join(w.run.bundle.dir, e.path), 'r');
  let n: number;
  try {
    n = await copyThrough(w, fh, e.size, hash);
  } finally {
    await fh.close();
  }
  if (n !== e.size)
    throw new AirgapError(
      'BUNDLE_FILE_DIGEST_MISMATCH',
      `${e.path} changed since the bundle was signed (size ${n} expected ${e.size}); nothing was packed`,
    );
  w.checks.push(
    hash.digest().then((got) => {
      if (got !== e.sha256)
        w.changed ??= new AirgapError(
          'BUNDLE_FILE_DIGEST_MISMATCH',
          `${e.path} changed since the bundle was signed (sha256 ${got} expected ${e.sha256}); nothing was packed`,
        );
    }),
  );
}

/**
 * Copies an open file into the archive through the shared slots, each piece hashed, the next piece
 * read while the last is written. Returns the bytes the file had: up to one more than `size`, so a
 * file that grew is caught.
 */
async function copyThrough(w: ArchiveWrite, fh: FileHandle, size: number, hash: FileHash): Promise<number> {
  let writing: Promise<void> = Promise.resolve();
  let n = 0;
  try {
    for (;;) {
      const slot = await w.slots.take();
      let got: number;
      try {
        // One byte more than the file should have left: a file that grew is caught.
        ({ bytesRead: got } = await fh.read(slot, 0, Math.min(slot.length, size - n + 1), n));
        await writing;
      } catch (err) {
        w.slots.release(slot);
        throw err;
      }
      if (got === 0 || n + got > size) {
        w.slots.release(slot);
        n += got;
        break;
      }
      const piece = slot.subarray(0, got);
      n += got;
      await hash.update(piece);
      writing = w.writer.write(piece).finally(() => w.slots.release(slot));
      w.run.opts.progress.addBytes(got);
    }
    await writing;
    return n;
  } finally {
    await writing.catch(() => undefined);
  }
}

/** The transfer index, signed: the signature first, the index last (a medium with an index is a finished one). */
async function writeSignedIndex(run: PackRun, chunks: ChunkEntry[]): Promise<TransferIndex> {
  const { manifest, manifestText } = run.bundle;
  const index: TransferIndex = {
    formatVersion: 1,
    kind: 'rekor-airgap-transfer',
    archive: { name: ARCHIVE_NAME, size: run.total },
    chunkSize: run.opts.chunkSize,
    chunks,
    bundle: {
      manifestSha256: sha256Hex(manifestText),
      manifestSize: manifestText.length,
      createdAt: manifest.createdAt,
      profiles: manifest.profiles,
    },
  };
  const text = serializeIndex(index);
  await writeFileAtomic(path.join(run.out, TRANSFER_INDEX_SIG), signDetached(Buffer.from(text), run.opts.signingKey));
  await writeFileAtomic(path.join(run.out, TRANSFER_INDEX), text);
  return index;
}
