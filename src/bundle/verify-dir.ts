/**
 * Verifies a bundle directory: the signature of bundle.json first (nothing else is read until it
 * holds), then every listed file's presence, size and SHA-256, and that nothing unlisted is there.
 * All faults are collected and reported at once.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AggregateAirgapError, AirgapError, FaultList } from '../errors.js';
import { hashFile } from '../oci/digest.js';
import { copyFileAtomic } from '../util/atomic-file.js';
import type { Progress } from '../util/progress.js';
import { listFiles } from '../util/walk.js';
import { BundleLayout, UNLISTED_FILES } from './layout.js';
import type { BundleManifest } from './manifest.js';
import { readTrustedManifest, type TrustedKeys } from './trusted-manifest.js';

export interface BundleVerifyResult {
  dir: string;
  manifest: BundleManifest;
  /** SHA-256 (hex) of the signed bundle.json bytes. */
  manifestSha256: string;
  signedBy: string;
  files: number;
  bytes: number;
  /**
   * A small listed file (profile, template, artifact), read once and checked against the signed
   * manifest; the caller uses these bytes, never the file again.
   */
  readFile(rel: string): Promise<Buffer>;
  /** Copies a listed file of any size to `to` (atomically), checking it against the signed manifest. */
  copyFile(rel: string, to: string, mode: number): Promise<void>;
}

const SMALL_FILE_LIMIT = 64 * 1024 * 1024;

/** Reads a listed file of a verified bundle and checks it against its manifest entry. */
export async function readVerifiedFile(dir: string, manifest: BundleManifest, rel: string): Promise<Buffer> {
  const entry = manifest.files.find((f) => f.path === rel);
  if (!entry) throw new AirgapError('BUNDLE_FILE_MISSING', `${rel} is not listed in the signed bundle.json of ${dir}`);
  if (entry.size > SMALL_FILE_LIMIT)
    throw new AirgapError('BUNDLE_FILE_SIZE_MISMATCH', `${rel}: ${entry.size} bytes is too large to read whole`);
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(path.join(dir, rel));
  } catch (e) {
    throw new AirgapError('BUNDLE_FILE_MISSING', `${path.join(dir, rel)}: missing or unreadable`, { cause: e });
  }
  const got = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length !== entry.size || got !== entry.sha256) {
    throw new AirgapError(
      'BUNDLE_FILE_DIGEST_MISMATCH',
      `${rel} changed after verification: sha256 ${got}, the signed bundle.json says ${entry.sha256}`,
    );
  }
  return bytes;
}

export async function copyVerifiedFile(
  dir: string,
  manifest: BundleManifest,
  rel: string,
  to: string,
  mode: number,
): Promise<void> {
  const entry = manifest.files.find((f) => f.path === rel);
  if (!entry) throw new AirgapError('BUNDLE_FILE_MISSING', `${rel} is not listed in the signed bundle.json of ${dir}`);
  const hash = createHash('sha256');
  await copyFileAtomic(path.join(dir, rel), to, {
    mode,
    through: (b) => hash.update(b),
    beforeCommit: () => {
      const got = hash.digest('hex');
      if (got !== entry.sha256)
        throw new AirgapError(
          'BUNDLE_FILE_DIGEST_MISMATCH',
          `${rel} changed after verification: sha256 ${got}, the signed bundle.json says ${entry.sha256}`,
        );
    },
  });
}

export async function verifyBundleDir(
  dir: string,
  keys: TrustedKeys,
  progress?: Progress,
): Promise<BundleVerifyResult> {
  const { manifest, signedBy, text } = await readTrustedManifest(dir, keys);
  const faults = new FaultList();
  const total = manifest.files.reduce((a, f) => a + f.size, 0);
  progress?.startBytes('verifying files', total);
  for (const f of manifest.files) {
    const file = path.join(dir, f.path);
    let st;
    try {
      st = await fsp.lstat(file);
    } catch {
      faults.push(new AirgapError('BUNDLE_FILE_MISSING', `${f.path}: missing`));
      continue;
    }
    if (!st.isFile()) {
      faults.push(new AirgapError('BUNDLE_UNEXPECTED_ENTRY', `${f.path}: not a regular file`));
      continue;
    }
    if (st.size !== f.size) {
      faults.push(new AirgapError('BUNDLE_FILE_SIZE_MISMATCH', `${f.path}: size ${st.size} expected ${f.size}`));
      progress?.addBytes(f.size);
      continue;
    }
    const h = await hashFile(file);
    progress?.addBytes(f.size);
    if (h.sha256 !== f.sha256)
      faults.push(
        new AirgapError(
          'BUNDLE_FILE_DIGEST_MISMATCH',
          `${f.path}: sha256 mismatch, expected ${f.sha256}, got ${h.sha256}`,
        ),
      );
  }
  progress?.endBytes();
  const listed = new Set(manifest.files.map((f) => f.path));
  try {
    for (const rel of await listFiles(dir, (r) => UNLISTED_FILES.has(r) || r === BundleLayout.INCOMPLETE_MARKER)) {
      if (!listed.has(rel))
        faults.push(new AirgapError('BUNDLE_FILE_UNLISTED', `${rel}: not listed in the signed bundle.json`));
    }
  } catch (e) {
    faults.push(e instanceof AirgapError ? e : new AirgapError('BUNDLE_UNEXPECTED_ENTRY', String(e)));
  }
  if (faults.length)
    throw new AggregateAirgapError(
      'BUNDLE_VERIFY_FAILED',
      `bundle ${dir} failed verification (${faults.length} faults):`,
      faults,
    );
  return {
    dir,
    manifest,
    signedBy,
    files: manifest.files.length,
    bytes: total,
    manifestSha256: createHash('sha256').update(text).digest('hex'),
    readFile: (rel) => readVerifiedFile(dir, manifest, rel),
    copyFile: (rel, to, mode) => copyVerifiedFile(dir, manifest, rel, to, mode),
  };
}
