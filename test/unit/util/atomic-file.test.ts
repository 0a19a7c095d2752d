/** The one atomic write: nothing partial is ever visible under the target's name, and no temp file stays. */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
  lstatSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OciLayoutWriter } from '../../../src/oci/layout.js';
import { VerifyingStream } from '../../../src/oci/digest.js';
import { AtomicFile, diskFullError, streamToFileAtomic, writeFileAtomic } from '../../../src/util/atomic-file.js';
import { SharedSlots, WorkerHasher } from '../../../src/util/hash-worker.js';
import { tempDir } from '../../helpers/fixtures.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('atomic writes', () => {
  it('writes the bytes with the mode, and leaves no temp file', async () => {
    const dir = tempDir('atomic-');
    const f = path.join(dir, 'a', 'b.txt');
    await writeFileAtomic(f, 'hello', 0o600);
    expect(readFileSync(f, 'utf8')).toBe('hello');
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readdirSync(path.dirname(f))).toEqual(['b.txt']);
  });

  it('a stream that fails verification at its end leaves neither the target nor a temp file', async () => {
    const dir = tempDir('atomic-');
    const f = path.join(dir, 'blob');
    const data = Buffer.alloc(3 * 1024 * 1024, 7);
    const wrong = sha(Buffer.from('something else'));
    const p = streamToFileAtomic(f, Readable.from([data.subarray(0, 1024 * 1024), data.subarray(1024 * 1024)]), {
      transforms: [new VerifyingStream({ digest: wrong, what: 'blob' })],
    });
    await expect(p).rejects.toMatchObject({ code: 'OCI_DIGEST_MISMATCH' });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a source that breaks mid-way leaves nothing', async () => {
    const dir = tempDir('atomic-');
    const f = path.join(dir, 'blob');
    async function* broken() {
      yield Buffer.from('part');
      throw new Error('connection reset');
    }
    await expect(streamToFileAtomic(f, Readable.from(broken()))).rejects.toThrow('connection reset');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('every chunk of a verified stream reaches the file (none lost to a listener)', async () => {
    const dir = tempDir('atomic-');
    const layout = new OciLayoutWriter(dir);
    await layout.init();
    const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
    let seen = 0;
    await layout.putBlob(
      { digest: sha(data), size: data.length },
      Readable.from([data.subarray(0, 65536), data.subarray(65536)]),
      (n) => {
        seen += n;
      },
    );
    expect(readFileSync(layout.blobPath(sha(data)))).toEqual(data);
    expect(seen).toBe(data.length);
  });

  it('a stream of many small and some large pieces is written whole and in order (gathered writes, or shared buffers handed to a hasher)', async () => {
    const dir = tempDir('atomic-');
    const data = Buffer.from(Array.from({ length: 3 * 1024 * 1024 + 777 }, (_, i) => (i * 7) % 253));
    // 5000 pieces of 1..600 bytes (more than one gathering write holds), then large ones.
    const pieces = () => {
      const out: Buffer[] = [];
      let at = 0;
      for (let i = 0; i < 5000; i++) {
        const n = 1 + ((i * 37) % 600);
        out.push(data.subarray(at, at + n));
        at += n;
      }
      while (at < data.length) {
        const n = Math.min(1_500_000, data.length - at);
        out.push(data.subarray(at, at + n));
        at += n;
      }
      return out;
    };
    expect(await streamToFileAtomic(path.join(dir, 'a'), Readable.from(pieces()))).toBe(data.length);
    // (Buffer.equals: a deep toEqual of megabytes takes seconds.)
    expect(readFileSync(path.join(dir, 'a')).equals(data)).toBe(true);

    const slots = new SharedSlots(2, 256 * 1024);
    const hasher = new WorkerHasher(slots);
    try {
      const hash = hasher.start();
      let handed = 0;
      await streamToFileAtomic(path.join(dir, 'b'), Readable.from(pieces()), {
        gather: {
          slots,
          gathered: async (b) => {
            expect(slots.owns(b)).toBe(true);
            handed += b.length;
            await hash.update(b);
          },
        },
      });
      expect(readFileSync(path.join(dir, 'b')).equals(data)).toBe(true);
      expect(handed).toBe(data.length);
      expect(await hash.digest()).toBe(sha(data).slice('sha256:'.length));
    } finally {
      await hasher.close();
    }
  });

  it('a blob whose bytes do not match its digest is not stored', async () => {
    const dir = tempDir('atomic-');
    const layout = new OciLayoutWriter(dir);
    await layout.init();
    const data = Buffer.from('real');
    await expect(
      layout.putBlob({ digest: sha(Buffer.from('fake')), size: 4 }, Readable.from([data])),
    ).rejects.toMatchObject({ code: 'OCI_DIGEST_MISMATCH' });
    expect(readdirSync(path.join(dir, 'blobs/sha256'))).toEqual([]);
  });

  it('a link at the target is replaced, never written through', async () => {
    const dir = tempDir('atomic-');
    const victim = path.join(dir, 'victim');
    writeFileSync(victim, 'precious');
    const f = path.join(dir, 'target');
    symlinkSync(victim, f);
    await writeFileAtomic(f, 'new');
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(lstatSync(f).isSymbolicLink()).toBe(false);
    expect(readFileSync(f, 'utf8')).toBe('new');
  });

  it('an aborted file leaves nothing; a committed one is renamed into place', async () => {
    const dir = tempDir('atomic-');
    mkdirSync(path.join(dir, 'x'));
    const a = await AtomicFile.open(path.join(dir, 'x', 'a'));
    await a.write(Buffer.from('1'));
    await a.abort();
    expect(readdirSync(path.join(dir, 'x'))).toEqual([]);
    const b = await AtomicFile.open(path.join(dir, 'x', 'b'));
    expect(existsSync(path.join(dir, 'x', 'b'))).toBe(false);
    await b.write(Buffer.from('2'));
    await b.commit();
    expect(readdirSync(path.join(dir, 'x'))).toEqual(['b']);
  });

  it("ENOSPC and EDQUOT become the caller's disk-full code; other errors pass through", () => {
    const enospc = Object.assign(new Error('no space'), { code: 'ENOSPC' });
    expect(diskFullError(enospc, '/m/x', 'MEDIA_WRITE_DISK_FULL')).toMatchObject({ code: 'MEDIA_WRITE_DISK_FULL' });
    expect(diskFullError(Object.assign(new Error('q'), { code: 'EDQUOT' }), '/m/x')).toMatchObject({
      code: 'BUNDLE_WRITE_DISK_FULL',
    });
    const eacces = Object.assign(new Error('denied'), { code: 'EACCES' });
    expect(diskFullError(eacces, '/m/x')).toBe(eacces);
  });
});

describe('the cause of a failed streamed write', () => {
  it("is the destination's own error (a full disk), not the pipeline's abort", async () => {
    const dir = tempDir('atomic-');
    const data = Array.from({ length: 50 }, () => Buffer.alloc(65536, 1));
    let n = 0;
    const p = streamToFileAtomic(path.join(dir, 'f'), Readable.from(data), {
      diskFull: 'MEDIA_WRITE_DISK_FULL',
      through: () => {
        if (++n === 3) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      },
    });
    await expect(p).rejects.toMatchObject({ code: 'MEDIA_WRITE_DISK_FULL' });
    expect(readdirSync(dir)).toEqual([]);
  });
});
