/**
 * SHA-256 on a second core: a worker thread hashes streams whose bytes the main thread copies to
 * it, so verifying media hashes chunks there while the main thread hashes files. The worker's code
 * is inline, so the single-file installer carries it too.
 */
import { Worker } from 'node:worker_threads';

const WORKER_CODE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const hashes = new Map();
let buf;
function hashRanges(ranges, into) {
  const h = into || createHash('sha256');
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
  return into ? '' : h.digest('hex');
}
parentPort.on('message', (m) => {
  if (m.op === 'ranges') {
    let hex;
    try { hex = hashRanges(m.ranges); } catch (e) { hex = 'error: ' + e.message; }
    parentPort.postMessage({ id: m.id, hex });
    return;
  }
  if (m.op === 'rangesUpdate') {
    let err = '';
    try { err = hashRanges(m.ranges, hashes.get(m.id)); } catch (e) { err = 'error: ' + e.message; }
    if (err) hashes.set(m.id, { update() {}, digest() { return err; } });
    return;
  }
  if (m.op === 'flush') { parentPort.postMessage({ id: m.id, hex: '' }); return; }
  if (m.op === 'start') hashes.set(m.id, createHash('sha256'));
  else if (m.op === 'data') { hashes.get(m.id).update(m.data); parentPort.postMessage({ ack: m.data.length }); }
  else if (m.op === 'end') { const h = hashes.get(m.id); hashes.delete(m.id); parentPort.postMessage({ id: m.id, hex: h.digest('hex') }); }
});
`;

export class WorkerHasher {
  private readonly worker: Worker;
  private next = 0;
  private readonly waiting = new Map<number, (hex: string) => void>();
  /** Bytes sent and not yet hashed: the sender waits above a bound, so memory stays flat. */
  private inFlight = 0;
  private drained: (() => void) | undefined;
  static readonly MAX_IN_FLIGHT = 16 * 1024 * 1024;

  constructor() {
    this.worker = new Worker(WORKER_CODE, { eval: true });
    this.worker.on('message', (m: { id: number; hex: string; ack?: number }) => {
      if (m.ack !== undefined) {
        this.inFlight -= m.ack;
        if (this.inFlight <= WorkerHasher.MAX_IN_FLIGHT / 2) this.drained?.();
        return;
      }
      this.waiting.get(m.id)?.(m.hex);
      this.waiting.delete(m.id);
    });

  }

  /** Starts a hash; feed it with update() (bytes copied over) or updateRanges() (read there), then await digest(). */
  start(): { update(b: Buffer): Promise<void>; updateRanges(ranges: ReadonlyArray<{ file: string; offset: number; length: number }>): void; digest(): Promise<string> } {
    const id = this.next++;
    this.worker.postMessage({ op: 'start', id });
    return {
      // Bytes already in a file (written, so in the page cache) are read by the worker itself:
      // nothing is copied between threads. A failed read makes digest() answer "short read"/"error: …".
      updateRanges: (ranges) => { this.worker.postMessage({ op: 'rangesUpdate', id, ranges }); },
      update: async (b) => {
        this.inFlight += b.length;
        this.worker.postMessage({ op: 'data', id, data: b });
        if (this.inFlight > WorkerHasher.MAX_IN_FLIGHT) await new Promise<void>((r) => { this.drained = r; });
      },
      digest: () => new Promise<string>((resolve) => {
        this.waiting.set(id, resolve);
        this.worker.postMessage({ op: 'end', id });
      }),
    };
  }

  /** SHA-256 of byte ranges of files, read by the worker itself (each byte read once, there). */
  hashRanges(ranges: ReadonlyArray<{ file: string; offset: number; length: number }>): Promise<string> {
    const id = this.next++;
    return new Promise<string>((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ op: 'ranges', id, ranges });
    });
  }

  /** Resolves once the worker has handled every message sent before (its reads are done). */
  flush(): Promise<void> {
    const id = this.next++;
    return new Promise<void>((resolve) => {
      this.waiting.set(id, () => resolve());
      this.worker.postMessage({ op: 'flush', id });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
