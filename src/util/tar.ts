/**
 * A strict, streaming ustar writer and reader. The writer makes deterministic headers (fixed owner,
 * mtime and modes); the reader accepts regular files only and hands every other entry type to the
 * caller as unsafe, before any byte of it is written anywhere.
 */
import { AirgapError } from '../errors.js';

export const BLOCK = 512;

export interface TarEntryHeader {
  path: string;
  size: number;
  mode: number;
  /** ustar typeflag: '0' file, '1' hard link, '2' symlink, '3'/'4' devices, '5' dir, '6' fifo, ... */
  type: string;
  linkname: string;
  /** The 512 header bytes as read. */
  raw: Buffer;
}

function writeOctal(buf: Buffer, value: number, offset: number, length: number): void {
  buf.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'ascii');
}

/** A ustar header for a regular file (names up to 255 bytes via the prefix field). */
export function tarFileHeader(name: string, size: number, mode: number, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  let prefix = '';
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100)
      throw new AirgapError('MEDIA_PATH_TOO_LONG', `${name} is too long for a ustar header`);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  h.write(base, 0, 100, 'utf8');
  writeOctal(h, mode & 0o7777, 100, 8);
  writeOctal(h, 0, 108, 8);
  writeOctal(h, 0, 116, 8);
  writeOctal(h, size, 124, 12);
  writeOctal(h, mtime, 136, 12);
  h.write('        ', 148, 8, 'ascii');
  h.write('0', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

export const TAR_END = Buffer.alloc(BLOCK * 2);

function readString(buf: Buffer, offset: number, length: number): string {
  const end = buf.indexOf(0, offset);
  return buf.toString('utf8', offset, end < 0 || end > offset + length ? offset + length : end);
}

function readOctal(buf: Buffer, offset: number, length: number, what: string): number {
  const s = readString(buf, offset, length).trim();
  if (!/^[0-7]*$/.test(s))
    throw new AirgapError('MEDIA_TAR_CORRUPT', `tar header field ${what} is not octal: ${JSON.stringify(s)}`);
  return s === '' ? 0 : parseInt(s, 8);
}

export function parseTarHeader(h: Buffer): TarEntryHeader | null {
  if (h.every((b) => b === 0)) return null;
  const stored = readOctal(h, 148, 8, 'checksum');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  if (sum !== stored) throw new AirgapError('MEDIA_TAR_CORRUPT', 'tar header checksum mismatch');
  const name = readString(h, 0, 100);
  const magic = h.toString('ascii', 257, 262);
  const prefix = magic === 'ustar' ? readString(h, 345, 155) : '';
  const typeByte = h[156]!;
  return {
    path: prefix ? `${prefix}/${name}` : name,
    size: readOctal(h, 124, 12, 'size'),
    mode: readOctal(h, 100, 8, 'mode'),
    type: typeByte === 0 ? '0' : String.fromCharCode(typeByte),
    linkname: readString(h, 157, 100),
    raw: Buffer.from(h),
  };
}

export interface TarEntrySink {
  write(chunk: Buffer): void | Promise<void>;
  end(): void | Promise<void>;
}

export interface ParseTarOptions {
  /**
   * Every byte accounted for: padding must be zero, and the archive must end with exactly two zero
   * blocks and nothing after them (what `bundle pack` writes).
   */
  strict?: boolean;
}

/**
 * Parses a tar stream. For each entry `onEntry` returns a sink for its bytes (or null to skip them).
 * Stops at the end-of-archive blocks; a stream that ends inside an entry is MEDIA_TAR_TRUNCATED.
 */
export async function parseTar(
  source: AsyncIterable<Buffer>,
  onEntry: (h: TarEntryHeader) => Promise<TarEntrySink | null> | TarEntrySink | null,
  opts: ParseTarOptions = {},
): Promise<void> {
  let pending: Buffer = Buffer.alloc(0);
  let state: { kind: 'header' } | { kind: 'body'; left: number; pad: number; sink: TarEntrySink | null; path: string } =
    { kind: 'header' };
  let ended = false;
  /** Bytes after the first zero block (strict: exactly one more zero block). */
  let trailing = 0;
  const zero = (b: Buffer) => b.every((x) => x === 0);
  for await (const chunk of source) {
    if (ended) {
      if (opts.strict && !zero(chunk))
        throw new AirgapError('MEDIA_TAR_CORRUPT', 'bytes that are not zero after the end-of-archive marker');
      trailing += chunk.length;
      continue;
    }
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    for (;;) {
      if (state.kind === 'header') {
        if (pending.length < BLOCK) break;
        const h = parseTarHeader(pending.subarray(0, BLOCK));
        pending = pending.subarray(BLOCK);
        if (!h) {
          ended = true;
          if (opts.strict && !zero(pending))
            throw new AirgapError('MEDIA_TAR_CORRUPT', 'bytes that are not zero after the end-of-archive marker');
          trailing = pending.length;
          break;
        }
        const sink = await onEntry(h);
        const bodySize = h.type === '0' ? h.size : 0;
        state = { kind: 'body', left: bodySize, pad: (BLOCK - (bodySize % BLOCK)) % BLOCK, sink, path: h.path };
        if (bodySize === 0) {
          await sink?.end();
          state = { kind: 'header' };
        }
        continue;
      }
      if (state.left > 0) {
        if (pending.length === 0) break;
        const n = Math.min(state.left, pending.length);
        await state.sink?.write(pending.subarray(0, n));
        pending = pending.subarray(n);
        state.left -= n;
        if (state.left > 0) break;
      }
      if (pending.length < state.pad) break;
      if (opts.strict && !zero(pending.subarray(0, state.pad)))
        throw new AirgapError('MEDIA_TAR_CORRUPT', `the padding after ${JSON.stringify(state.path)} is not zero`);
      pending = pending.subarray(state.pad);
      await state.sink?.end();
      state = { kind: 'header' };
    }
  }
  if (!ended) throw new AirgapError('MEDIA_TAR_TRUNCATED', 'the archive ends before its end-of-archive marker');
  if (opts.strict && trailing !== BLOCK)
    throw new AirgapError(
      'MEDIA_TAR_CORRUPT',
      `the end-of-archive marker is ${trailing + BLOCK} bytes, expected ${2 * BLOCK}`,
    );
}
