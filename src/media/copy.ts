/**
 * `bundle copy`: puts packed media onto a mounted medium (USB stick, DVD staging, diode outbox).
 * Each file is copied atomically (exclusive temp file, fsync, rename), then read back and hashed against the
 * signed index; files already there and matching are skipped, so a copy that broke off resumes.
 * Note: the read-back goes through the page cache; it proves what the kernel holds for the medium,
 * and `bundle verify` on the receiving side re-reads the medium itself.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirgapError } from '../errors.js';
import { verifyDetachedWithAnyKey } from '../bundle/signing.js';
import { hashFile } from '../oci/digest.js';
import { copyFileAtomic } from '../util/atomic-file.js';
import { readRegularFile, SMALL_JSON_LIMIT } from '../util/bounded-read.js';
import type { TrustedKeys } from '../bundle/trusted-manifest.js';
import type { Progress } from '../util/progress.js';
import { parseIndex, TRANSFER_INDEX, TRANSFER_INDEX_SIG } from './transfer-index.js';

/** SHA-256 of a file, or undefined when it cannot be read (absent on the medium). */
async function sha256Of(file: string): Promise<string | undefined> {
  return hashFile(file).then(
    (h) => h.sha256,
    () => undefined,
  );
}

export interface CopyResult {
  copied: string[];
  skipped: string[];
}

export async function copyMedia(
  fromDir: string,
  toDir: string,
  keys: TrustedKeys,
  progress: Progress,
): Promise<CopyResult> {
  const indexText = await readRegularFile(
    path.join(fromDir, TRANSFER_INDEX),
    SMALL_JSON_LIMIT,
    'MEDIA_INDEX_MISSING',
    'transfer index (pack the bundle first)',
  );
  const sig = (
    await readRegularFile(
      path.join(fromDir, TRANSFER_INDEX_SIG),
      64 * 1024,
      'MEDIA_INDEX_SIGNATURE_MISSING',
      'transfer index signature',
    )
  ).toString('utf8');
  verifyDetachedWithAnyKey(indexText, sig, keys, path.join(fromDir, TRANSFER_INDEX));
  const index = parseIndex(indexText.toString('utf8'), path.join(fromDir, TRANSFER_INDEX));
  await fsp.mkdir(toDir, { recursive: true });
  const want: Array<{ name: string; sha256: string; size: number }> = [
    ...index.chunks.map((c) => ({ name: c.name, sha256: c.sha256, size: c.size })),
    { name: TRANSFER_INDEX_SIG, sha256: createHash('sha256').update(sig).digest('hex'), size: Buffer.byteLength(sig) },
    // the index last: a medium with an index is a medium whose chunks are all there
    { name: TRANSFER_INDEX, sha256: createHash('sha256').update(indexText).digest('hex'), size: indexText.length },
  ];
  const result: CopyResult = { copied: [], skipped: [] };
  progress.startBytes(
    `copying to ${toDir}`,
    want.reduce((a, w) => a + w.size, 0),
  );
  for (const w of want) {
    const dest = path.join(toDir, w.name);
    const st = await fsp.stat(dest).catch(() => undefined);
    if (st?.size === w.size && (await sha256Of(dest)) === w.sha256) {
      result.skipped.push(w.name);
      progress.addBytes(w.size);
      continue;
    }
    if ((await sha256Of(path.join(fromDir, w.name))) !== w.sha256) {
      throw new AirgapError(
        'MEDIA_CHUNK_DIGEST_MISMATCH',
        `the source ${path.join(fromDir, w.name)} does not match the signed index; repack`,
      );
    }
    await copyFileAtomic(path.join(fromDir, w.name), dest, { mode: 0o644, diskFull: 'MEDIA_WRITE_DISK_FULL' });
    const back = await sha256Of(dest);
    if (back !== w.sha256)
      throw new AirgapError(
        'MEDIA_COPY_READBACK_MISMATCH',
        `${dest}: read back sha256 ${back}, expected ${w.sha256}; the medium may be failing`,
      );
    result.copied.push(w.name);
    progress.addBytes(w.size);
  }
  progress.endBytes();
  return result;
}
