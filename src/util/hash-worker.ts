/**
 * SHA-256 on a second core: a worker thread hashes bytes the main thread hands it — copied over,
 * or (with SharedSlots) not moved at all: bytes in shared memory are hashed where they lie — or
 * byte ranges of files it reads itself. The worker's code is inline, so the single-file installer
 * carries it.
 */
import { Worker } from 'node:worker_threads';

const WORKER_CODE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const hashes = new Map();
let buf;
let shared;
function hashRanges(ranges) {
  const h = createHash('sha256');
  buf = buf || Buffer.alloc(4 * 1024 * 1024);
  for (const r of ranges) {
    const fd = fs.openSync(r.file, 'r');
    try {
      for (let done = 0; done < r.length;) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, r.length - done), r.offset + done);
        if (n === 0) return 'short read';
        h.update(buf.subarray(0, n));
        done += n;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return h.digest('hex');
}
parentPort.on('message', (m) => {
  if (m.op === 'ranges') {
    let hex;
    try { hex = hashRanges(m.ranges); } catch (e) { hex = 'error: ' + e.message; }
    parentPort.postMessage({ id: m.id, hex });
    return;
  }
  if (m.op === 'shared') { shared = m.sab; return; }
  if (m.op === 'sharedData') {
    hashes.get(m.id).update(new Uint8Array(shared, m.offset, m.length));
    parentPort.postMessage({ released: m.offset });
    return;
  }
  if (m.op === 'start') hashes.set(m.id, createHash('sha256'));
  else if (m.op === 'data') { hashes.get(m.id).update(m.data); parentPort.postMessage({ ack: m.data.length }); }
  else if (m.op === 'end') { const h = hashes.get(m.id); hashes.delete(m.id); parentPort.postMessage({ id: m.id, hex: h.digest('hex') }); }
});
`;

/** A byte range of a file. */
export interface FileRange {
  file: string;
  offset: number;
  length: number;
}

/**
 * A few fixed buffers in memory shared with hashing threads. A buffer is taken, filled (a file or
 * a network stream read into it), handed to hashers and to a write; it is free again once every
 * one of them is done with it. Memory stays at count × size however much flows through.
 */
export class SharedSlots {
  readonly sab: SharedArrayBuffer;
  private readonly refs: number[];
  private readonly free: number[];
  private readonly waiting: Array<(slot: Buffer) => void> = [];

  constructor(
    readonly count: number,
    readonly size: number,
  ) {
    this.sab = new SharedArrayBuffer(count * size);
    this.refs = new Array<number>(count).fill(0);
    this.free = Array.from({ length: count }, (_, i) => i);
  }

  /** A free buffer (its one reference is the caller's: release() it when done). */
  take(): Promise<Buffer> {
    const i = this.free.shift();
    if (i === undefined) return new Promise((resolve) => this.waiting.push(resolve));
    this.refs[i] = 1;
    return Promise.resolve(this.view(i));
  }

  /** True when `b` lies in this memory. */
  owns(b: Uint8Array): boolean {
    return b.buffer === this.sab;
  }

  retain(b: Uint8Array): void {
    this.refs[this.slotOf(b.byteOffset)]!++;
  }

  /** Drops one reference to the buffer holding byte `offset` (or `b`'s first byte). */
  release(at: Uint8Array | number): void {
    const i = this.slotOf(typeof at === 'number' ? at : at.byteOffset);
    if (--this.refs[i]! > 0) return;
    const next = this.waiting.shift();
    if (next) {
      this.refs[i] = 1;
      next(this.view(i));
    } else {
      this.free.push(i);
    }
  }

  private view(i: number): Buffer {
    return Buffer.from(this.sab, i * this.size, this.size);
  }

  private slotOf(offset: number): number {
    return Math.floor(offset / this.size);
  }
}

export class WorkerHasher {
  private readonly worker: Worker;
  private next = 0;
  private readonly waiting = new Map<number, (hex: string) => void>();
  /** Bytes sent and not yet hashed: the sender waits above a bound, so memory stays flat. */
  private inFlight = 0;
  private drained: (() => void) | undefined;
  static readonly MAX_IN_FLIGHT = 16 * 1024 * 1024;

  /** `slots`: bytes in that memory are hashed where they lie, not copied (see SharedSlots). */
  constructor(private readonly slots?: SharedSlots) {
    this.worker = new Worker(WORKER_CODE, { eval: true });
    if (slots) this.worker.postMessage({ op: 'shared', sab: slots.sab });
    this.worker.on('message', (m: { id: number; hex: string; ack?: number; released?: number }) => {
      if (m.released !== undefined) {
        this.slots!.release(m.released);
        return;
      }
      if (m.ack !== undefined) {
        this.inFlight -= m.ack;
        if (this.inFlight <= WorkerHasher.MAX_IN_FLIGHT / 2) this.drained?.();
        return;
      }
      this.waiting.get(m.id)?.(m.hex);
      this.waiting.delete(m.id);
    });
  }

  /**
   * Starts a hash; feed it with update(), then await digest(). Bytes in this hasher's SharedSlots
   * are hashed in place (the buffer is held until then); any others are copied over.
   */
  start(): { update(b: Buffer): Promise<void>; digest(): Promise<string> } {
    const id = this.next++;
    this.worker.postMessage({ op: 'start', id });
    return {
      update: async (b) => {
        if (this.slots?.owns(b)) {
          this.slots.retain(b);
          this.worker.postMessage({ op: 'sharedData', id, offset: b.byteOffset, length: b.length });
          return;
        }
        this.inFlight += b.length;
        this.worker.postMessage({ op: 'data', id, data: b });
        if (this.inFlight > WorkerHasher.MAX_IN_FLIGHT)
          await new Promise<void>((r) => {
            this.drained = r;
          });
      },
      digest: () =>
        new Promise<string>((resolve) => {
          this.waiting.set(id, resolve);
          this.worker.postMessage({ op: 'end', id });
        }),
    };
  }

  /** SHA-256 of byte ranges of files, read by the worker itself (each byte read once, there). */
  hashRanges(ranges: readonly FileRange[]): Promise<string> {
    const id = this.next++;
    return new Promise<string>((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ op: 'ranges', id, ranges });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
