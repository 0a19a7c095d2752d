/** Content digests, and streams that check them while bytes flow. */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AirgapError } from '../errors.js';
import { digestHex, isDigest } from '../util/sha256.js';

/** The hex of a `sha256:` digest read from outside, or OCI_BAD_DIGEST naming what it was. */
export function parseDigest(d: string, what = 'digest'): string {
  if (!isDigest(d))
    throw new AirgapError('OCI_BAD_DIGEST', `${what} ${JSON.stringify(d)} is not sha256:<64 lowercase hex>`);
  return digestHex(d);
}

export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Passes bytes through while hashing them; at the end, fails unless the SHA-256 and (when given) the
 * size match. The caller names what is being read so the error can say so.
 */
export class VerifyingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private seen = 0;

  constructor(
    private readonly expected: {
      digest: string;
      size?: number;
      what: string;
      code?: 'BUNDLE_FILE_DIGEST_MISMATCH' | 'OCI_DIGEST_MISMATCH';
    },
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.expected.size !== undefined && this.seen > this.expected.size) {
      cb(
        new AirgapError(
          this.expected.code ? 'BUNDLE_FILE_SIZE_MISMATCH' : 'OCI_SIZE_MISMATCH',
          `${this.expected.what}: more than the expected ${this.expected.size} bytes`,
        ),
      );
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.expected.size !== undefined && this.seen !== this.expected.size) {
      cb(
        new AirgapError(
          this.expected.code ? 'BUNDLE_FILE_SIZE_MISMATCH' : 'OCI_SIZE_MISMATCH',
          `${this.expected.what}: size ${this.seen} expected ${this.expected.size}`,
        ),
      );
      return;
    }
    const got = `sha256:${this.hash.digest('hex')}`;
    if (got !== this.expected.digest) {
      cb(
        new AirgapError(
          this.expected.code ?? 'OCI_DIGEST_MISMATCH',
          `${this.expected.what}: sha256 mismatch, expected ${this.expected.digest}, got ${got}`,
        ),
      );
      return;
    }
    cb();
  }

  get bytes(): number {
    return this.seen;
  }
}

/** SHA-256 and size of a file, streamed. */
export async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), async function (src) {
    for await (const chunk of src) {
      size += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
  });
  return { sha256: hash.digest('hex'), size };
}
