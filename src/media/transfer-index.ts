/**
 * The transfer index that travels with a packed bundle: every chunk's name, size and SHA-256, and
 * the digest of the bundle.json inside, signed like bundle.json (detached, base64 DER).
 */
import { AirgapError } from '../errors.js';
import { canonicalJson } from '../util/canonical-json.js';
import { isJsonObject, parseUntrustedJson } from '../util/untrusted-json.js';
import { isSha256Hex } from '../util/sha256.js';

export const TRANSFER_INDEX = 'transfer-index.json';
export const TRANSFER_INDEX_SIG = 'transfer-index.json.sig';
export const ARCHIVE_NAME = 'bundle.tar';
export const DEFAULT_CHUNK_SIZE = 3900 * 1024 * 1024; // below FAT32's 4 GiB file limit

export interface ChunkEntry {
  index: number;
  name: string;
  size: number;
  sha256: string;
}

export interface TransferIndex {
  formatVersion: 1;
  kind: 'rekor-airgap-transfer';
  archive: { name: string; size: number };
  chunkSize: number;
  chunks: ChunkEntry[];
  bundle: { manifestSha256: string; manifestSize: number; createdAt: string; profiles: string[] };
}

/** `bundle.tar` when the archive is one file, else `bundle.tar.000`, `bundle.tar.001`, ... */
export function chunkName(index: number, count: number): string {
  return count === 1 ? ARCHIVE_NAME : `${ARCHIVE_NAME}.${String(index).padStart(3, '0')}`;
}

export const CHUNK_NAME_RE = /^bundle\.tar(?:\.\d{3,})?$/;

/** Parses sizes like `3900MiB`, `4GB`, `512k`, `1048576`. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(i?)([bB]?)$/.exec(text.trim());
  if (!m) throw new AirgapError('USAGE_BAD_SIZE', `size ${JSON.stringify(text)} is not like 3900MiB, 4GB or 1048576`);
  const unit = m[2]!.toLowerCase();
  const base = m[3] === 'i' || unit === '' ? 1024 : 1000;
  const pow = ['', 'k', 'm', 'g', 't'].indexOf(unit);
  const n = Math.floor(Number(m[1]) * base ** pow);
  if (n < 1024) throw new AirgapError('USAGE_BAD_SIZE', `chunk size ${text} is below 1 KiB`);
  return n;
}

export function serializeIndex(index: TransferIndex): string {
  return canonicalJson(index);
}

/**
 * Parses untrusted transfer-index.json text, or MEDIA_INDEX_INVALID naming what is wrong. Size and
 * nesting are capped before it is parsed (the one reader of untrusted JSON).
 */
export function parseIndex(text: string | Uint8Array, file: string): TransferIndex {
  const v = parseUntrustedJson(text, { what: file, code: 'MEDIA_INDEX_INVALID' }) as TransferIndex;
  const bad = (why: string): never => {
    throw new AirgapError('MEDIA_INDEX_INVALID', `${file}: ${why}`);
  };
  if (!isJsonObject(v) || v.kind !== 'rekor-airgap-transfer' || v.formatVersion !== 1)
    return bad('not a rekor-airgap transfer index (version 1)');
  if (!Array.isArray(v.chunks) || v.chunks.length === 0) bad('no chunks');
  if (v.chunks.length > 100_000) bad(`${v.chunks.length} chunks is more than this tool takes`);
  if (!isJsonObject(v.archive) || !Number.isSafeInteger(v.archive.size) || v.archive.size <= 0)
    bad('archive.size is missing');
  if (!Number.isSafeInteger(v.chunkSize) || v.chunkSize <= 0) bad('chunkSize is missing');
  let total = 0;
  (v.chunks as unknown[]).forEach((c, i) => {
    if (!isJsonObject(c)) return bad(`chunk ${i} is not an object`);
    if (c.index !== i || c.name !== chunkName(i, v.chunks.length))
      bad(`chunk ${i} is named ${JSON.stringify(c.name)}, expected ${chunkName(i, v.chunks.length)}`);
    if (!Number.isSafeInteger(c.size) || (c.size as number) <= 0 || !isSha256Hex(c.sha256))
      bad(`chunk ${i} has a bad size or sha256`);
    total += c.size as number;
    return undefined;
  });
  if (total !== v.archive.size) bad(`the chunks add up to ${total} bytes, the archive is ${v.archive.size}`);
  if (!isJsonObject(v.bundle) || !isSha256Hex(v.bundle.manifestSha256)) bad('bundle.manifestSha256 is missing');
  return v;
}
