/**
 * An OCI image layout directory (oci-layout, index.json, blobs/sha256/*) written the way
 * containers/image does: each blob goes to a temp file, is digested while it is copied, checked for
 * size, fsynced and renamed into place; index.json is written last, at commit.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AirgapError } from '../errors.js';
import { AtomicFile, exists, streamToFileAtomic, writeFileAtomic } from '../util/atomic-file.js';
import { parseDigest, sha256Digest, VerifyingStream } from './digest.js';
import { SharedSlots, WorkerHasher } from '../util/hash-worker.js';
import { MediaType, type Descriptor, type ImageIndex } from './media-types.js';

export const OCI_LAYOUT_FILE = 'oci-layout';
export const OCI_INDEX_FILE = 'index.json';
export const OCI_BLOBS_DIR = 'blobs/sha256';
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

export function blobRelPath(digest: string): string {
  return `${OCI_BLOBS_DIR}/${parseDigest(digest)}`;
}

/** Buffers shared with the hashing threads: enough for a few blobs in flight, each filling one while one is written. */
const SLOTS = 12;
const SLOT_SIZE = 1024 * 1024;

export class OciLayoutWriter {
  /** Two hashing threads, made on first use: blobs are hashed there, off the thread that receives them. */
  private hashers: WorkerHasher[] = [];
  private slots: SharedSlots | undefined;
  private turn = 0;

  constructor(readonly root: string) {}

  private hasher(): WorkerHasher {
    this.slots ??= new SharedSlots(SLOTS, SLOT_SIZE);
    if (this.hashers.length < 2) this.hashers.push(new WorkerHasher(this.slots));
    return this.hashers[this.turn++ % this.hashers.length]!;
  }

  /** Ends the hashing threads (after the last putBlob). */
  async close(): Promise<void> {
    const hs = this.hashers.splice(0);
    await Promise.all(hs.map((h) => h.close()));
  }

  blobPath(digest: string): string {
    return path.join(this.root, blobRelPath(digest));
  }

  async init(): Promise<void> {
    await fsp.mkdir(path.join(this.root, OCI_BLOBS_DIR), { recursive: true });
    await writeFileAtomic(path.join(this.root, OCI_LAYOUT_FILE), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  }

  /** True when the blob is present with the right size and content (a resumed run skips it). */
  async hasBlob(desc: { digest: string; size: number }): Promise<boolean> {
    const file = this.blobPath(desc.digest);
    if (!(await exists(file))) return false;
    const st = await fsp.stat(file);
    if (st.size !== desc.size) return false;
    try {
      await pipeline(
        createReadStream(file),
        new VerifyingStream({ digest: desc.digest, size: desc.size, what: file }),
        async function (src) {
          for await (const _ of src) {
            /* drain */
          }
        },
      );
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Streams a blob in, verified against its descriptor, atomically. The bytes are gathered into
   * memory shared with a hashing thread, which hashes them in place while this thread writes them:
   * the digest checked is that of exactly the bytes written, and this thread only receives and writes.
   */
  async putBlob(
    desc: { digest: string; size: number },
    source: Readable,
    onBytes?: (n: number) => void,
  ): Promise<void> {
    const what = `blob ${desc.digest}`;
    const hash = this.hasher().start();
    let seen = 0;
    await streamToFileAtomic(this.blobPath(desc.digest), source, {
      through: (b: Buffer) => {
        seen += b.length;
        if (seen > desc.size)
          throw new AirgapError('OCI_SIZE_MISMATCH', `${what}: more than the expected ${desc.size} bytes`);
        onBytes?.(b.length);
      },
      gather: { slots: this.slots!, gathered: (b) => hash.update(b) },
      beforeCommit: async () => {
        const got = `sha256:${await hash.digest()}`;
        if (seen !== desc.size)
          throw new AirgapError('OCI_SIZE_MISMATCH', `${what}: size ${seen} expected ${desc.size}`);
        if (got !== desc.digest)
          throw new AirgapError('OCI_DIGEST_MISMATCH', `${what}: sha256 mismatch, expected ${desc.digest}, got ${got}`);
      },
    });
  }

  /** A blob of unknown digest: hashed while written, named by its digest at commit. */
  async openUnknown(): Promise<{
    write(b: Buffer): Promise<void>;
    commit(): Promise<{ digest: string; size: number }>;
    abort(): Promise<void>;
  }> {
    const file = await AtomicFile.open(path.join(this.root, OCI_BLOBS_DIR, 'unknown'));
    const hash = createHash('sha256');
    return {
      write: async (b) => {
        hash.update(b);
        await file.write(b);
      },
      commit: async () => {
        const digest = `sha256:${hash.digest('hex')}`;
        await file.commit(this.blobPath(digest));
        return { digest, size: file.bytes };
      },
      abort: () => file.abort(),
    };
  }

  async putBytes(bytes: Uint8Array, mediaType: string): Promise<Descriptor> {
    const digest = sha256Digest(bytes);
    const file = this.blobPath(digest);
    // A blob kept from an earlier run is used only if it holds exactly these bytes.
    const kept = await fsp.readFile(file).catch(() => undefined);
    if (!kept || !Buffer.from(bytes).equals(kept)) await writeFileAtomic(file, bytes);
    return { mediaType, digest, size: bytes.length };
  }

  /** Commits the layout: index.json listing `manifests` (each with its ref.name annotation). */
  async writeIndex(manifests: Descriptor[]): Promise<void> {
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests };
    await writeFileAtomic(path.join(this.root, OCI_INDEX_FILE), JSON.stringify(index, null, 2) + '\n');
  }
}
