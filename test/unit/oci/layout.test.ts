/** Blobs into an OCI layout: hashed on a hashing thread from what was written, refused when they are not what the descriptor says. */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OciLayoutWriter } from '../../../src/oci/layout.js';
import { tempDir } from '../../helpers/fixtures.js';

// Each test writes into a layout of its own, made and initialised before it.
let layout: OciLayoutWriter;
beforeEach(async () => {
  layout = new OciLayoutWriter(path.join(tempDir('layout-'), 'l'));
  await layout.init();
});
afterEach(() => layout.close());
const digest = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
// Arrives in network-sized pieces.
const pieces = (b: Buffer) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < b.length; i += 65_536) yield b.subarray(i, i + 65_536);
    })(),
  );

describe('OciLayoutWriter.putBlob', () => {
  it('stores a 20 MiB blob whose bytes match its digest', async () => {
    const b = randomBytes(20 * 1024 * 1024 + 7);
    let counted = 0;
    await layout.putBlob({ digest: digest(b), size: b.length }, pieces(b), (n) => {
      counted += n;
    });
    expect(readFileSync(layout.blobPath(digest(b))).equals(b)).toBe(true);
    expect(counted).toBe(b.length);
  });

  it('refuses other bytes under a digest, and a blob longer or shorter than its size, leaving nothing', async () => {
    const b = randomBytes(9 * 1024 * 1024);
    const other = Buffer.from(b);
    other[5_000_000] = other[5_000_000]! ^ 1;
    await expect(layout.putBlob({ digest: digest(b), size: b.length }, pieces(other))).rejects.toMatchObject({
      code: 'OCI_DIGEST_MISMATCH',
    });
    await expect(layout.putBlob({ digest: digest(b), size: b.length - 1 }, pieces(b))).rejects.toMatchObject({
      code: 'OCI_SIZE_MISMATCH',
    });
    await expect(layout.putBlob({ digest: digest(b), size: b.length + 1 }, pieces(b))).rejects.toMatchObject({
      code: 'OCI_SIZE_MISMATCH',
    });
    expect(existsSync(layout.blobPath(digest(b)))).toBe(false);
    expect(readdirSync(path.dirname(layout.blobPath(digest(b)))).filter((f) => f.startsWith('.tmp'))).toEqual([]);
  });
});
