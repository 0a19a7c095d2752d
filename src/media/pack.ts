/**
 * `bundle pack`: a deterministic tar of a bundle (bundle.json and its signature first, then every
 * listed file in manifest order; owner 0, fixed mtime, modes 0644/0755; no compression, the layers
 * are compressed already), as one file or fixed-size chunks, plus a signed transfer index.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { AirgapError } from '../errors.js';
import { bundlePath, BundleLayout } from '../bundle/layout.js';
import { parseManifest } from '../bundle/manifest.js';
import { signDetached } from '../bundle/sign-detached.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import type { Progress } from '../util/progress.js';
import { ChunkedWriter } from './chunked-writer.js';
import { SharedSlots, WorkerHasher } from '../util/hash-worker.js';
import { BLOCK, TAR_END, tarFileHeader, tarPadding } from '../util/tar.js';
import { ARCHIVE_NAME, CHUNK_NAME_RE, serializeIndex, TRANSFER_INDEX, TRANSFER_INDEX_SIG, type TransferIndex } from './transfer-index.js';

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
  const ours = (n: string) => CHUNK_NAME_RE.test(n) || n === TRANSFER_INDEX_SIG || /^\.tmp-(bundle\.tar(\.\d{3,})?|transfer-index\.json(\.sig)?)-[0-9a-f]+$/.test(n);
  const regular = await Promise.all(existing.map((n) => fsp.lstat(path.join(out, n)).then((st) => st.isFile(), () => false)));
  if (existing.includes(TRANSFER_INDEX) || !existing.every((n, i) => ours(n) && regular[i])) {
    throw new AirgapError('USAGE_OUT_NOT_EMPTY', `${out} is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', ...' : ''}); pack writes to an empty directory`);
  }
  for (const n of existing) await fsp.rm(path.join(out, n), { force: true });
}

export async function packBundle(opts: PackOptions): Promise<TransferIndex> {
  const dir = path.resolve(opts.bundleDir);
  if (await fsp.stat(bundlePath.marker(dir)).then(() => true, () => false)) {
    throw new AirgapError('BUNDLE_INCOMPLETE', `${dir} is an unfinished bundle (its create was interrupted); run bundle create again`);
  }
  let manifestText: Buffer;
  let sig: Buffer;
  try {
    manifestText = await fsp.readFile(bundlePath.manifest(dir));
    sig = await fsp.readFile(bundlePath.signature(dir));
  } catch (e) {
    throw new AirgapError('BUNDLE_MANIFEST_MISSING', `${dir} is not a signed bundle (bundle.json or bundle.json.sig missing)`, { cause: e });
  }
  const manifest = parseManifest(manifestText.toString('utf8'), bundlePath.manifest(dir));
  const mtime = Math.floor(Date.parse(manifest.createdAt) / 1000) || 0;

  const entries: Array<{ path: string; size: number; sha256?: string; mode: number }> = [
    { path: BundleLayout.MANIFEST, size: manifestText.length, mode: 0o644 },
    { path: BundleLayout.SIGNATURE, size: sig.length, mode: 0o644 },
  ];
  for (const f of manifest.files) {
    const st = await fsp.stat(path.join(dir, f.path)).catch(() => undefined);
    if (!st) throw new AirgapError('BUNDLE_FILE_MISSING', `${f.path}: missing from ${dir}`);
    entries.push({ path: f.path, size: f.size, sha256: f.sha256, mode: st.mode & 0o111 ? 0o755 : 0o644 });
  }
  const total = entries.reduce((a, e) => a + BLOCK + e.size + tarPadding(e.size).length, 0) + TAR_END.length;
  const count = Math.max(1, Math.ceil(total / opts.chunkSize));

  const out = path.resolve(opts.outDir);
  await fsp.mkdir(out, { recursive: true });
  await clearInterruptedPack(out);
  // Files are read into memory shared with two hashing workers: one hashes the chunks, the other
  // each file, which must hash to the signed manifest's digest — the medium holds exactly the
  // signed bytes. The bytes written are the bytes hashed, never copied between threads; the main
  // thread only reads and writes, reading the next piece while the last one is written.
  const slots = new SharedSlots(SLOTS, SLOT_SIZE);
  const fileHasher = new WorkerHasher(slots);
  const hasher = new WorkerHasher(slots);
  const checks: Array<Promise<void>> = [];
  // The first file found changed stops the writing at the next file.
  let changed: unknown;
  const writeFile = async (writer: ChunkedWriter, e: (typeof entries)[number]): Promise<void> => {
    const hash = fileHasher.start();
    const fh = await fsp.open(path.join(dir, e.path), 'r');
    let writing: Promise<void> = Promise.resolve();
    try {
      let n = 0;
      for (;;) {
        const slot = await slots.take();
        let got: number;
        try {
          // One byte more than the file should have left: a file that grew is caught.
          ({ bytesRead: got } = await fh.read(slot, 0, Math.min(slot.length, e.size - n + 1), n));
          await writing;
        } catch (err) {
          slots.release(slot);
          throw err;
        }
        if (got === 0 || n + got > e.size) {
          slots.release(slot);
          n += got;
          break;
        }
        const piece = slot.subarray(0, got);
        n += got;
        await hash.update(piece);
        writing = writer.write(piece).finally(() => slots.release(slot));
        opts.progress.addBytes(got);
      }
      await writing;
      if (n !== e.size) throw new AirgapError('BUNDLE_FILE_DIGEST_MISMATCH', `${e.path} changed since the bundle was signed (size ${n} expected ${e.size}); nothing was packed`);
    } finally {
      await writing.catch(() => undefined);
      await fh.close();
    }
    checks.push(hash.digest().then((got) => {
      if (got !== e.sha256) changed ??= new AirgapError('BUNDLE_FILE_DIGEST_MISMATCH', `${e.path} changed since the bundle was signed (sha256 ${got} expected ${e.sha256}); nothing was packed`);
    }));
  };
  const writeArchive = async (writer: ChunkedWriter): Promise<void> => {
    for (const e of entries) {
      if (changed) throw changed;
      await writer.write(tarFileHeader(e.path, e.size, e.mode, mtime));
      if (e.path === BundleLayout.MANIFEST) await writer.write(manifestText);
      else if (e.path === BundleLayout.SIGNATURE) await writer.write(sig);
      else await writeFile(writer, e);
      await writer.write(tarPadding(e.size));
    }
    await writer.write(TAR_END);
  };
  const writer = new ChunkedWriter(out, opts.chunkSize, count, hasher);
  opts.progress.startBytes('packing', total);
  let chunks;
  try {
    await writeArchive(writer);
    chunks = await writer.finish();
    await Promise.all(checks);
    if (changed) throw changed;
  } catch (e) {
    // Nothing half-done stays behind: the chunk being written and the ones already committed go.
    await Promise.all(checks);
    await writer.abort();
    for (const c of writer.chunks) await fsp.rm(path.join(out, c.name), { force: true });
    throw e;
  } finally {
    await hasher.close();
    await fileHasher.close();
  }
  opts.progress.endBytes();
  const index: TransferIndex = {
    formatVersion: 1,
    kind: 'rekor-airgap-transfer',
    archive: { name: ARCHIVE_NAME, size: total },
    chunkSize: opts.chunkSize,
    chunks,
    bundle: {
      manifestSha256: createHash('sha256').update(manifestText).digest('hex'),
      manifestSize: manifestText.length,
      createdAt: manifest.createdAt,
      profiles: manifest.profiles,
    },
  };
  const text = serializeIndex(index);
  // The signature first, the index last: a medium with an index is a finished one.
  await writeFileAtomic(path.join(out, TRANSFER_INDEX_SIG), signDetached(Buffer.from(text), opts.signingKey));
  await writeFileAtomic(path.join(out, TRANSFER_INDEX), text);
  return index;
}
