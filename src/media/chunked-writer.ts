/**
 * Writes one byte stream as numbered chunk files of a fixed size, hashing each as it goes on a
 * worker thread (bytes in shared memory are hashed where they lie: the hash is of exactly the bytes
 * written). Each chunk is an atomic file: created exclusively beside its final name (never through
 * a link), fsynced and renamed when complete.
 */
import path from 'node:path';
import { AirgapError } from '../errors.js';
import { AtomicFile } from '../util/atomic-file.js';
import type { WorkerHasher } from '../util/hash-worker.js';
import { chunkName, type ChunkEntry } from './transfer-index.js';

export class ChunkedWriter {
  private index = 0;
  private file: AtomicFile | undefined;
  private hash: ReturnType<WorkerHasher['start']> | undefined;
  private written = 0;
  readonly chunks: ChunkEntry[] = [];

  /** Chunk hashes are computed by `hasher` on another core while this one reads and writes. */
  constructor(
    private readonly dir: string,
    private readonly chunkSize: number,
    private readonly count: number,
    private readonly hasher: WorkerHasher,
  ) {}

  private async open(): Promise<void> {
    this.file = await AtomicFile.open(path.join(this.dir, chunkName(this.index, this.count)), {
      mode: 0o644,
      diskFull: 'MEDIA_WRITE_DISK_FULL',
    });
    this.hash = this.hasher.start();
    this.written = 0;
  }

  /** The previous chunk's commit (fsync, rename), overlapping with writing the next one. */
  private committing: Promise<void> = Promise.resolve();

  private async close(): Promise<void> {
    const file = this.file!;
    const sha256 = await this.hash!.digest();
    const entry = { index: this.index, name: chunkName(this.index, this.count), size: this.written, sha256 };
    this.file = undefined;
    this.index++;
    const previous = this.committing;
    this.committing = (async () => {
      await previous;
      await file.commit();
      this.chunks.push(entry);
    })();
    // At most one commit in flight: the one before this must be done before more is written.
    await previous;
  }

  /** Writes `buf` (a buffer of the hasher's shared slots must stay unchanged until written). */
  async write(buf: Buffer): Promise<void> {
    let off = 0;
    while (off < buf.length) {
      if (!this.file) await this.open();
      const n = Math.min(buf.length - off, this.chunkSize - this.written);
      const part = buf.subarray(off, off + n);
      await this.hash!.update(part);
      await this.file!.write(part);
      this.written += n;
      off += n;
      if (this.written === this.chunkSize) await this.close();
    }
  }

  async finish(): Promise<ChunkEntry[]> {
    if (this.file) await this.close();
    await this.committing;
    if (this.chunks.length !== this.count)
      throw new AirgapError('MEDIA_INTERNAL', `wrote ${this.chunks.length} chunks, expected ${this.count}`);
    return this.chunks;
  }

  /** Removes the chunk being written (after a failure). */
  async abort(): Promise<void> {
    await this.committing.catch(() => undefined);
    await this.file?.abort();
    this.file = undefined;
  }
}
