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

/** A byte range of a file. */
export interface FileRange { file: string; offset: number; length: number }

/**
 * A hash of bytes already written to files, read back by the worker (from the page cache: the
 * hash is of the bytes on disk, and nothing is copied between threads). Ranges are gathered, the
 * adjacent ones joined, and handed over every READ_BACK_STEP bytes.
 */
export interface ReadBackHash {
  /** Bytes just written at this place. */
  add(r: FileRange): void;
  /** Hands over what was added so far (before the file it names is renamed away). */
  send(): void;
  /** SHA-256 (hex) of everything added; a failed read answers "short read" or "error: …" instead. */
  digest(): Promise<string>;
}

export const READ_BACK_STEP = 8 * 1024 * 1024;

/** True when a digest() answer is a SHA-256 hex, not a failed read. */
export function isHexDigest(s: string): boolean {
  return /^[a-f0-9]{64}$/.test(s);
}

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

  /** Starts a hash; feed it with update() (bytes copied over), then await digest(). */
  start(): { update(b: Buffer): Promise<void>; digest(): Promise<string> } {
    const id = this.begin();
    return {
      update: async (b) => {
        this.inFlight += b.length;
        this.worker.postMessage({ op: 'data', id, data: b });
        if (this.inFlight > WorkerHasher.MAX_IN_FLIGHT) await new Promise<void>((r) => { this.drained = r; });
      },
      digest: () => this.end(id),
    };
  }

  /** Starts a hash of bytes written to files, read back there (see ReadBackHash). */
  startReadBack(): ReadBackHash {
    const id = this.begin();
    const pending: FileRange[] = [];
    let bytes = 0;
    const send = () => {
      if (pending.length) this.worker.postMessage({ op: 'rangesUpdate', id, ranges: pending.splice(0) });
      bytes = 0;
    };
    return {
      add: (r) => {
        const last = pending[pending.length - 1];
        if (last && last.file === r.file && last.offset + last.length === r.offset) last.length += r.length;
        else pending.push({ ...r });
        bytes += r.length;
        if (bytes >= READ_BACK_STEP) send();
      },
      send,
      digest: () => { send(); return this.end(id); },
    };
  }

  private begin(): number {
    const id = this.next++;
    this.worker.postMessage({ op: 'start', id });
    return id;
  }

  private end(id: number): Promise<string> {
    return new Promise<string>((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ op: 'end', id });
    });
  }

  /** SHA-256 of byte ranges of files, read by the worker itself (each byte read once, there). */
  hashRanges(ranges: readonly FileRange[]): Promise<string> {
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
