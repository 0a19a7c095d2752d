/**
 * Hashing on a worker thread, with bytes copied over or lying in memory shared with it: the digest
 * is OpenSSL's of the same bytes, in the order given, and a shared buffer is free again only once
 * every hasher that was handed it is done.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { SharedSlots, WorkerHasher } from '../../../src/util/hash-worker.js';

const sha = (...bs: Buffer[]) => {
  const h = createHash('sha256');
  for (const b of bs) h.update(b);
  return h.digest('hex');
};

describe('hashing on a worker thread', () => {
  const slots = new SharedSlots(3, 1024 * 1024);
  const a = new WorkerHasher(slots);
  const b = new WorkerHasher(slots);
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('hashes shared and copied bytes, mixed, in order; two hashers share the same buffers', async () => {
    const data = randomBytes(10 * 1024 * 1024 + 12345);
    const header = Buffer.from('a header, copied over');
    const ha = a.start();
    const hb = b.start();
    await ha.update(header);
    for (let off = 0; off < data.length; off += slots.size) {
      const slot = await slots.take();
      const n = data.copy(slot, 0, off, Math.min(off + slots.size, data.length));
      // Split across two updates of one hasher, the whole to the other.
      await ha.update(slot.subarray(0, n >> 1));
      await ha.update(slot.subarray(n >> 1, n));
      await hb.update(slot.subarray(0, n));
      slots.release(slot);
    }
    expect(await ha.digest()).toBe(sha(header, data));
    expect(await hb.digest()).toBe(sha(data));
    // Every buffer came back: all three can be taken at once without waiting.
    const taken = await Promise.race([
      Promise.all([slots.take(), slots.take(), slots.take()]),
      new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), 2000)),
    ]);
    expect(taken).not.toBe('waiting');
    for (const t of taken as Buffer[]) slots.release(t);
  });

  it('a buffer handed to a hasher is not given out again before that hasher has read it', async () => {
    const one = new SharedSlots(1, 64);
    const w = new WorkerHasher(one);
    try {
      const slot = await one.take();
      slot.fill(7);
      const h = w.start();
      await h.update(slot);
      one.release(slot);
      // The next take waits for the worker; once it has the buffer, overwriting it cannot change the hash.
      const again = await one.take();
      again.fill(9);
      expect(await h.digest()).toBe(sha(Buffer.alloc(64, 7)));
      one.release(again);
    } finally {
      await w.close();
    }
  });
});
