/**
 * The fast path of `bundle verify` for media that is whole: since `bundle pack` is deterministic,
 * the signed manifest says where every byte of the archive is and what it must be. The manifest and
 * its signature are read from the front and checked; then the layout is laid over the chunks —
 * every header compared byte for byte with the one the manifest implies, every padding and the end
 * marker read as zero, every file's content hashed — with the files split between this thread and a
 * worker, each reading its own ranges once. Each byte is read once and checked once, on both cores.
 *
 * It answers only "all good" or "not all good": on any doubt the caller runs the thorough streaming
 * pass (read-media.ts), which names every fault. It is never used for unpacking.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { trustManifestBytes, type TrustedKeys } from '../bundle/trusted-manifest.js';
import { BundleLayout } from '../bundle/layout.js';
import type { BundleFile } from '../bundle/manifest.js';
import type { FileRange, WorkerHasher } from '../util/hash-worker.js';
import { BLOCK } from '../util/tar.js';
import { MAX_HEAD_ENTRY_SIZE, packHeaderTest, type ArchiveHead, type PackHeaderTest } from './pack-format.js';
import type { TransferIndex } from './transfer-index.js';

export class ArchiveMap {
  private readonly starts: number[] = [];

  constructor(
    private readonly dir: string,
    private readonly index: TransferIndex,
  ) {
    let at = 0;
    for (const c of index.chunks) {
      this.starts.push(at);
      at += c.size;
    }
  }

  get size(): number {
    return this.index.archive.size;
  }

  /** A byte range of the archive, as (chunk file, offset, length) pieces. */
  ranges(start: number, length: number): FileRange[] {
    const out: FileRange[] = [];
    let pos = start;
    let left = length;
    let i = this.starts.findIndex((s, k) => pos >= s && pos < s + this.index.chunks[k]!.size);
    while (left > 0 && i >= 0 && i < this.index.chunks.length) {
      const c = this.index.chunks[i]!;
      const off = pos - this.starts[i]!;
      const n = Math.min(left, c.size - off);
      out.push({ file: path.join(this.dir, c.name), offset: off, length: n });
      pos += n;
      left -= n;
      i++;
    }
    return out;
  }

  async read(start: number, length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (const r of this.ranges(start, length)) {
      const fh = await fsp.open(r.file, 'r');
      try {
        const b = Buffer.alloc(r.length);
        const { bytesRead } = await fh.read(b, 0, r.length, r.offset);
        parts.push(b.subarray(0, bytesRead));
      } finally {
        await fh.close();
      }
    }
    return Buffer.concat(parts);
  }

  /**
   * SHA-256 of a range on this thread, read in 4 MiB pieces: the next piece is being read (on the
   * I/O pool) while this one is hashed.
   */
  async hash(start: number, length: number): Promise<string> {
    const h = createHash('sha256');
    const bufs = [Buffer.alloc(4 * 1024 * 1024), Buffer.alloc(4 * 1024 * 1024)];
    for (const r of this.ranges(start, length)) {
      const fh = await fsp.open(r.file, 'r');
      try {
        let turn = 0;
        const readAt = (done: number) =>
          fh.read(bufs[turn % 2]!, 0, Math.min(bufs[0]!.length, r.length - done), r.offset + done);
        let next = r.length > 0 ? readAt(0) : undefined;
        for (let done = 0; done < r.length;) {
          const { bytesRead, buffer } = await next!;
          if (bytesRead === 0) return 'short read';
          done += bytesRead;
          turn++;
          next = done < r.length ? readAt(done) : undefined;
          h.update(buffer.subarray(0, bytesRead));
        }
      } finally {
        await fh.close();
      }
    }
    return h.digest('hex');
  }
}

const pad = (n: number) => (BLOCK - (n % BLOCK)) % BLOCK;
const isZero = (b: Buffer) => b.every((x) => x === 0);

/** One fast pass over whole media: what every step reads the archive with. */
interface FastPass {
  /** Where each byte of the archive is, in the chunk files. */
  map: ArchiveMap;
  /** Is a header block the one pack writes for this name and size? */
  headerOk: PackHeaderTest;
}

/** A file of the manifest where the layout puts it: its header block and its data. */
interface PlacedFile {
  f: BundleFile;
  header: number;
  data: number;
}

/** All good → the verified manifest; anything else → undefined (run the thorough pass). */
export async function fastVerify(
  dir: string,
  index: TransferIndex,
  keys: TrustedKeys,
  hasher: WorkerHasher,
  onBytes: (n: number) => void,
): Promise<ArchiveHead | undefined> {
  const pass: FastPass = { map: new ArchiveMap(dir, index), headerOk: packHeaderTest(index.bundle.createdAt) };
  try {
    const head = await readSignedHead(pass, index, keys);
    if (!head) return undefined;
    const entries = await checkLayout(pass, head.manifest.files, head.end);
    if (!entries) return undefined;
    const [mine, theirs] = splitByWork(entries);
    const results = await Promise.all([hashHere(pass, mine, onBytes), hashInWorker(pass, theirs, hasher, onBytes)]);
    if (!results.every(Boolean)) return undefined;
    return { manifest: head.manifest, manifestText: head.manifestText, signatureText: head.signatureText };
  } catch {
    // A signature that does not verify, a short chunk, ...: the thorough pass will name it.
    return undefined;
  }
}

/**
 * bundle.json and its signature from the front of the archive, each header and padding checked,
 * the signature verified: the manifest, and where the entries after them start.
 */
async function readSignedHead(
  pass: FastPass,
  index: TransferIndex,
  keys: TrustedKeys,
): Promise<(ArchiveHead & { end: number }) | undefined> {
  const { map, headerOk } = pass;
  // bundle.json: its size is in the signed index; its bytes must hash to the index's digest.
  const mSize = index.bundle.manifestSize;
  if (!Number.isSafeInteger(mSize) || mSize <= 0 || mSize > MAX_HEAD_ENTRY_SIZE) return undefined;
  if (!headerOk(await map.read(0, BLOCK), BundleLayout.MANIFEST, mSize)) return undefined;
  const manifestText = await map.read(BLOCK, mSize);
  if (createHash('sha256').update(manifestText).digest('hex') !== index.bundle.manifestSha256) return undefined;
  let at = BLOCK + mSize;
  if (!isZero(await map.read(at, pad(mSize)))) return undefined;
  at += pad(mSize);
  // Its signature: the header says its size (checked against the header pack would write).
  const sigHeader = await map.read(at, BLOCK);
  const sigSize = parseInt(sigHeader.toString('ascii', 124, 135), 8);
  if (
    !Number.isSafeInteger(sigSize) ||
    sigSize <= 0 ||
    sigSize > 64 * 1024 ||
    !headerOk(sigHeader, BundleLayout.SIGNATURE, sigSize)
  )
    return undefined;
  const signatureText = await map.read(at + BLOCK, sigSize);
  at += BLOCK + sigSize;
  if (!isZero(await map.read(at, pad(sigSize)))) return undefined;
  at += pad(sigSize);
  const { manifest } = trustManifestBytes(
    manifestText,
    signatureText.toString('utf8'),
    keys,
    'bundle.json in the archive',
  );
  return { manifest, manifestText, signatureText, end: at };
}

/**
 * The layout the manifest implies, in pack's order from `start`: it must fill the archive exactly,
 * with the end marker, every header and every padding as pack writes them.
 */
async function checkLayout(pass: FastPass, files: BundleFile[], start: number): Promise<PlacedFile[] | undefined> {
  const { map, headerOk } = pass;
  let at = start;
  const entries = files.map((f) => {
    const e = { f, header: at, data: at + BLOCK };
    at += BLOCK + f.size + pad(f.size);
    return e;
  });
  if (at + 2 * BLOCK !== map.size) return undefined;
  if (!isZero(await map.read(at, 2 * BLOCK))) return undefined;
  for (const e of entries) {
    if (!headerOk(await map.read(e.header, BLOCK), e.f.path, e.f.size)) return undefined;
    if (!isZero(await map.read(e.data + e.f.size, pad(e.f.size)))) return undefined;
  }
  return entries;
}

/** The largest files first, each to the thread with less work so far: [this thread's, the worker's]. */
function splitByWork(entries: PlacedFile[]): [PlacedFile[], PlacedFile[]] {
  const order = [...entries].sort((a, b) => b.f.size - a.f.size);
  const mine: PlacedFile[] = [];
  const theirs: PlacedFile[] = [];
  let a = 0;
  let b = 0;
  for (const e of order) {
    if (a <= b) {
      mine.push(e);
      a += e.f.size;
    } else {
      theirs.push(e);
      b += e.f.size;
    }
  }
  return [mine, theirs];
}

/** Hashes files on this thread: true when every one matches the manifest. */
async function hashHere(pass: FastPass, files: PlacedFile[], onBytes: (n: number) => void): Promise<boolean> {
  for (const e of files) {
    if ((await pass.map.hash(e.data, e.f.size)) !== e.f.sha256) return false;
    onBytes(e.f.size);
  }
  return true;
}

/** Hashes files in the worker: true when every one matches the manifest. */
async function hashInWorker(
  pass: FastPass,
  files: PlacedFile[],
  hasher: WorkerHasher,
  onBytes: (n: number) => void,
): Promise<boolean> {
  for (const e of files) {
    if ((await hasher.hashRanges(pass.map.ranges(e.data, e.f.size))) !== e.f.sha256) return false;
    onBytes(e.f.size);
  }
  return true;
}
