/**
 * The one way a file is committed: a temp file beside the target, created exclusively and never
 * through a link → write → fsync → rename over the target → fsync the directory. On any failure the
 * temp file is removed. A full disk becomes the caller's disk-full error (see `diskFullError`).
 */
import { constants, createReadStream, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AirgapError, type ErrorCode } from '../errors.js';
import type { SharedSlots } from './hash-worker.js';

/** What a full disk becomes, per caller (bundle writes and media writes report it differently). */
export type DiskFullCode = Extract<ErrorCode, 'BUNDLE_WRITE_DISK_FULL' | 'MEDIA_WRITE_DISK_FULL'>;

export interface AtomicOptions {
  mode?: number;
  /** Error code for ENOSPC/EDQUOT (default BUNDLE_WRITE_DISK_FULL). */
  diskFull?: DiskFullCode;
}

/** The one mapping of "no space left" to a coded error; anything else is returned unchanged. */
export function diskFullError(e: unknown, where: string, code: DiskFullCode = 'BUNDLE_WRITE_DISK_FULL'): unknown {
  const errno = (e as NodeJS.ErrnoException)?.code;
  if (errno === 'ENOSPC' || errno === 'EDQUOT')
    return new AirgapError(code, `no space left on the device while writing ${where}`, {
      cause: e,
      details: { file: where },
    });
  return e;
}

export const TEMP_PREFIX = '.tmp-';

export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `${TEMP_PREFIX}${path.basename(target)}-${randomBytes(6).toString('hex')}`);
}

/** O_CREAT|O_EXCL|O_NOFOLLOW: a planted file or link at the temp name makes the open fail. */
const EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } catch {
    /* some filesystems (FAT on some kernels) refuse directory fsync */
  } finally {
    await fh.close();
  }
}

export class AtomicFile {
  private finished = false;
  bytes = 0;

  private constructor(
    readonly target: string,
    readonly temp: string,
    private readonly fh: FileHandle,
    private readonly opts: AtomicOptions,
  ) {}

  static async open(target: string, opts: AtomicOptions = {}): Promise<AtomicFile> {
    const temp = tempPathFor(target);
    try {
      await fsp.mkdir(path.dirname(target), { recursive: true });
      const fh = await fsp.open(temp, EXCLUSIVE, opts.mode ?? 0o644);
      return new AtomicFile(target, temp, fh, opts);
    } catch (e) {
      throw diskFullError(e, target, opts.diskFull);
    }
  }

  async write(b: Uint8Array): Promise<void> {
    try {
      let off = 0;
      while (off < b.length) {
        const { bytesWritten } = await this.fh.write(b, off, b.length - off);
        off += bytesWritten;
      }
      this.bytes += b.length;
    } catch (e) {
      await this.abort();
      throw diskFullError(e, this.target, this.opts.diskFull);
    }
  }

  /** Writes several buffers in order, with one call where the system allows (no copying them together). */
  async writev(bs: readonly Uint8Array[]): Promise<void> {
    let total = 0;
    for (const b of bs) total += b.length;
    try {
      const { bytesWritten } = await this.fh.writev(bs as Uint8Array[]);
      if (bytesWritten < total) {
        // A short write: the rest, buffer by buffer, from where it stopped.
        let skip = bytesWritten;
        for (const b of bs) {
          if (skip >= b.length) {
            skip -= b.length;
            continue;
          }
          for (let off = skip; off < b.length;) off += (await this.fh.write(b, off, b.length - off)).bytesWritten;
          skip = 0;
        }
      }
      this.bytes += total;
    } catch (e) {
      await this.abort();
      throw diskFullError(e, this.target, this.opts.diskFull);
    }
  }

  /** fsync → rename over the target (or `as`, in the same directory) → fsync the directory. */
  async commit(as?: string): Promise<void> {
    if (this.finished) throw new AirgapError('INTERNAL_BUG', `atomic file ${this.target} committed twice`);
    try {
      if (this.opts.mode !== undefined) await this.fh.chmod(this.opts.mode);
      await this.fh.sync();
      await this.fh.close();
      this.finished = true;
      const target = as ?? this.target;
      await fsp.rename(this.temp, target);
      await fsyncDir(path.dirname(target));
    } catch (e) {
      await this.abort();
      throw diskFullError(e, this.target, this.opts.diskFull);
    }
  }

  async abort(): Promise<void> {
    if (!this.finished) {
      this.finished = true;
      await this.fh.close().catch(() => undefined);
    }
    await fsp.rm(this.temp, { force: true }).catch(() => undefined);
  }
}

export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  opts: AtomicOptions | number = {},
): Promise<void> {
  const o = typeof opts === 'number' ? { mode: opts } : opts;
  const f = await AtomicFile.open(target, o);
  await f.write(typeof data === 'string' ? Buffer.from(data) : data);
  await f.commit();
}

/**
 * Streams `source` through `transforms` (a verifying stream, ...) into `target` atomically, with
 * stream.pipeline, so an error anywhere (a digest mismatch at the end included) aborts the write.
 * `through` sees every chunk before it is written. Returns the byte count.
 */
export async function streamToFileAtomic(
  target: string,
  source: Readable | AsyncIterable<Uint8Array>,
  opts: AtomicOptions & {
    transforms?: Transform[];
    through?: (b: Buffer) => void;
    beforeCommit?: () => void | Promise<void>;
    /**
     * Pieces are gathered into these shared buffers (one copy) and each full buffer is handed to
     * `gathered` (a hasher on another thread reads it in place) before it is written.
     */
    gather?: { slots: SharedSlots; gathered: (b: Buffer) => Promise<void> };
  } = {},
): Promise<number> {
  const f = await AtomicFile.open(target, opts);
  // Node 20's pipeline reports a failing destination function as ABORT_ERR; keep the real cause.
  let sinkError: unknown;
  try {
    const stages = [source, ...(opts.transforms ?? [])] as unknown as [NodeJS.ReadableStream];
    await pipeline(...stages, async (chunks: AsyncIterable<string | Buffer>) => {
      try {
        if (opts.gather) await gatherInto(f, chunks, opts.through, opts.gather);
        else {
          // Network reads arrive in ~64 KiB pieces: about 1 MiB of them goes to the file in one
          // gathering write, without copying them together.
          let batch: Buffer[] = [];
          let used = 0;
          for await (const c of chunks) {
            const b = Buffer.isBuffer(c) ? c : Buffer.from(c);
            opts.through?.(b);
            batch.push(b);
            used += b.length;
            if (used >= 1024 * 1024 || batch.length >= 256) {
              await f.writev(batch);
              batch = [];
              used = 0;
            }
          }
          if (used) await f.writev(batch);
        }
      } catch (e) {
        sinkError ??= e;
        throw e;
      }
    });
    await opts.beforeCommit?.();
  } catch (e) {
    await f.abort();
    throw diskFullError(sinkError ?? e, target, opts.diskFull);
  }
  await f.commit();
  return f.bytes;
}

/** Pieces copied into shared buffers; each full one is handed over, then written while the next fills. */
async function gatherInto(
  f: AtomicFile,
  chunks: AsyncIterable<string | Buffer>,
  through: ((b: Buffer) => void) | undefined,
  g: { slots: SharedSlots; gathered: (b: Buffer) => Promise<void> },
): Promise<void> {
  let slot: Buffer | undefined;
  let used = 0;
  let writing: Promise<void> = Promise.resolve();
  const flush = async () => {
    const full = slot!;
    const piece = full.subarray(0, used);
    slot = undefined;
    used = 0;
    try {
      await writing;
      await g.gathered(piece);
    } catch (e) {
      g.slots.release(full);
      throw e;
    }
    writing = f.write(piece).finally(() => g.slots.release(full));
  };
  try {
    for await (const c of chunks) {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(c);
      through?.(b);
      for (let off = 0; off < b.length;) {
        slot ??= await g.slots.take();
        const n = b.copy(slot, used, off);
        used += n;
        off += n;
        if (used === slot.length) await flush();
      }
    }
    if (slot && used) await flush();
    await writing;
  } finally {
    if (slot) g.slots.release(slot);
    await writing.catch(() => undefined);
  }
}

/** Copies a file atomically (read in 4 MiB pieces). */
export async function copyFileAtomic(
  from: string,
  to: string,
  opts: AtomicOptions & { through?: (b: Buffer) => void; beforeCommit?: () => void | Promise<void> } = {},
): Promise<number> {
  return streamToFileAtomic(to, createReadStream(from, { highWaterMark: 4 * 1024 * 1024 }), opts);
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}
