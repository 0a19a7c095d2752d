/**
 * Writes one byte stream as numbered chunk files of a fixed size, hashing each as it goes. Each
 * chunk is written to a temp name, fsynced and renamed when complete.
 */
import { createHash, type Hash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { AirgapError } from '../errors.js';
import { chunkName, type ChunkEntry } from './transfer-index.js';

export class ChunkedWriter {
  private index = 0;
  private fh: FileHandle | undefined;
  private hash: Hash | undefined;
  private written = 0;
  readonly chunks: ChunkEntry[] = [];

  constructor(private readonly dir: string, private readonly chunkSize: number, private readonly count: number) {}

  private async open(): Promise<void> {
    this.fh = await fsp.open(path.join(this.dir, `.tmp-${chunkName(this.index, this.count)}`), 'w', 0o644);
    this.hash = createHash('sha256');
    this.written = 0;
  }

  private async close(): Promise<void> {
    const name = chunkName(this.index, this.count);
    await this.fh!.sync();
    await this.fh!.close();
    await fsp.rename(path.join(this.dir, `.tmp-${name}`), path.join(this.dir, name));
    this.chunks.push({ index: this.index, name, size: this.written, sha256: this.hash!.digest('hex') });
    this.fh = undefined;
    this.index++;
  }

  async write(buf: Buffer): Promise<void> {
    let off = 0;
    while (off < buf.length) {
      if (!this.fh) await this.open();
      const n = Math.min(buf.length - off, this.chunkSize - this.written);
      const part = buf.subarray(off, off + n);
      this.hash!.update(part);
      try {
        await this.fh!.write(part);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw new AirgapError('MEDIA_WRITE_DISK_FULL', `no space left on ${this.dir} while writing ${chunkName(this.index, this.count)}`, { cause: e });
        throw e;
      }
      this.written += n;
      off += n;
      if (this.written === this.chunkSize) await this.close();
    }
  }

  async finish(): Promise<ChunkEntry[]> {
    if (this.fh) await this.close();
    if (this.chunks.length !== this.count) throw new AirgapError('MEDIA_INTERNAL', `wrote ${this.chunks.length} chunks, expected ${this.count}`);
    return this.chunks;
  }
}
