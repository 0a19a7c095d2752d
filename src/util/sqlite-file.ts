/**
 * The rows of one table of an SQLite database file, its write-ahead log applied — read from the
 * bytes, with no SQLite library (https://www.sqlite.org/fileformat2.html). Enough to read what a
 * program that keeps its state in SQLite has written, from its files, stopped or copied: only
 * committed WAL frames count, every page is read once per path, and anything that is not the format
 * is a coded error naming the file, never a partial answer.
 */
import { AirgapError, type ErrorCode } from '../errors.js';

export type SqliteValue = null | number | string | Uint8Array;

export interface SqliteSource {
  /** Names the database in errors (a path). */
  what: string;
  code: ErrorCode;
}

const HEADER = 'SQLite format 3\0';
const WAL_MAGIC_LE = 0x377f0682;
const WAL_MAGIC_BE = 0x377f0683;
const WAL_HEADER = 32;
const FRAME_HEADER = 24;
const MAX_DEPTH = 64;

/** The database's pages: the file's, then the WAL's committed frames over them. */
class Pages {
  readonly pageSize: number;
  readonly usable: number;
  private readonly fromWal = new Map<number, Uint8Array>();
  private readonly pageCount: number;

  constructor(
    private readonly db: Uint8Array,
    wal: Uint8Array | undefined,
    private readonly src: SqliteSource,
  ) {
    const walPageSize = wal && wal.length >= WAL_HEADER ? u32(wal, 8) : 0;
    if (db.length > 0) {
      if (db.length < 100 || Buffer.from(db.subarray(0, 16)).toString('latin1') !== HEADER)
        this.fail('is not an SQLite 3 database (no "SQLite format 3" header)');
      const raw = u16(db, 16);
      this.pageSize = raw === 1 ? 65536 : raw;
      if (db[56 + 3] !== 1 && u32(db, 56) !== 0) this.fail('stores text in UTF-16; only UTF-8 is read');
    } else {
      this.pageSize = walPageSize;
    }
    if (this.pageSize < 512 || this.pageSize > 65536 || (this.pageSize & (this.pageSize - 1)) !== 0)
      this.fail(`has a page size of ${this.pageSize}`);
    this.usable = this.pageSize - (db.length > 0 ? db[20]! : 0);
    let count = Math.floor(db.length / this.pageSize);
    if (wal && wal.length > 0) count = this.applyWal(wal, count);
    this.pageCount = count;
  }

  fail(why: string): never {
    throw new AirgapError(this.src.code, `${this.src.what} ${why}`);
  }

  /** Frames up to the last commit whose salts and running checksum hold; returns the page count then. */
  private applyWal(wal: Uint8Array, count: number): number {
    if (wal.length < WAL_HEADER) return count;
    const magic = u32(wal, 0);
    if (magic !== WAL_MAGIC_LE && magic !== WAL_MAGIC_BE) this.fail('has a write-ahead log without its magic number');
    if (u32(wal, 8) !== this.pageSize)
      this.fail(`has a write-ahead log of page size ${u32(wal, 8)} (the database's is ${this.pageSize})`);
    const bigEndian = magic === WAL_MAGIC_BE;
    let sum = walChecksum(wal.subarray(0, 24), [0, 0], bigEndian);
    if (sum[0] !== u32(wal, 24) || sum[1] !== u32(wal, 28)) return count; // never written through: empty
    const salt = [u32(wal, 16), u32(wal, 20)];
    const pending = new Map<number, Uint8Array>();
    const frameSize = FRAME_HEADER + this.pageSize;
    for (let off = WAL_HEADER; off + frameSize <= wal.length; off += frameSize) {
      if (u32(wal, off + 8) !== salt[0] || u32(wal, off + 12) !== salt[1]) break;
      sum = walChecksum(wal.subarray(off, off + 8), sum, bigEndian);
      sum = walChecksum(wal.subarray(off + FRAME_HEADER, off + frameSize), sum, bigEndian);
      if (sum[0] !== u32(wal, off + 16) || sum[1] !== u32(wal, off + 20)) break;
      const pgno = u32(wal, off);
      if (pgno === 0) break;
      pending.set(pgno, wal.subarray(off + FRAME_HEADER, off + frameSize));
      const commitSize = u32(wal, off + 4);
      if (commitSize !== 0) {
        for (const [n, page] of pending) this.fromWal.set(n, page);
        pending.clear();
        count = commitSize;
      }
    }
    return count;
  }

  page(n: number): Uint8Array {
    if (!Number.isInteger(n) || n < 1 || n > this.pageCount)
      this.fail(`refers to page ${n}, outside its ${this.pageCount} pages`);
    const w = this.fromWal.get(n);
    if (w) return w;
    const start = (n - 1) * this.pageSize;
    if (start + this.pageSize > this.db.length) this.fail(`is cut short: page ${n} is missing`);
    return this.db.subarray(start, start + this.pageSize);
  }
}

function u16(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}

function u32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

/** SQLite's WAL checksum over 32-bit words, continued from `s`. */
function walChecksum(data: Uint8Array, s: number[], bigEndian: boolean): number[] {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let [s0, s1] = s as [number, number];
  for (let i = 0; i + 8 <= data.length; i += 8) {
    s0 = (s0 + dv.getUint32(i, !bigEndian) + s1) >>> 0;
    s1 = (s1 + dv.getUint32(i + 4, !bigEndian) + s0) >>> 0;
  }
  return [s0, s1];
}

/** A varint at `off`: its value and length (values beyond 2^53 lose precision; none read here are). */
function varint(b: Uint8Array, off: number, pages: Pages): [number, number] {
  let v = 0;
  for (let i = 0; i < 9; i++) {
    if (off + i >= b.length) pages.fail('has a varint that runs off its page');
    const byte = b[off + i]!;
    if (i === 8) return [v * 256 + byte, 9];
    v = v * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) return [v, i + 1];
  }
  return [v, 9];
}

/** A table leaf cell's payload, following its overflow pages. */
function cellPayload(pages: Pages, page: Uint8Array, off: number): Uint8Array {
  const [size, n1] = varint(page, off, pages);
  const [, n2] = varint(page, off + n1, pages);
  const start = off + n1 + n2;
  const U = pages.usable;
  const X = U - 35;
  if (size <= X) {
    if (start + size > page.length) pages.fail('has a cell that runs off its page');
    return page.subarray(start, start + size);
  }
  const M = Math.floor(((U - 12) * 32) / 255) - 23;
  const K = M + ((size - M) % (U - 4));
  const local = K <= X ? K : M;
  const parts = [page.subarray(start, start + local)];
  let got = local;
  let next = u32(page, start + local);
  const seen = new Set<number>();
  while (got < size) {
    if (seen.has(next)) pages.fail('has an overflow chain that loops');
    seen.add(next);
    const ov = pages.page(next);
    const take = Math.min(size - got, U - 4);
    parts.push(ov.subarray(4, 4 + take));
    got += take;
    next = u32(ov, 0);
  }
  return Buffer.concat(parts);
}

/** The values of one record. */
function decodeRecord(rec: Uint8Array, pages: Pages): SqliteValue[] {
  const [headerLen, n] = varint(rec, 0, pages);
  if (headerLen > rec.length) pages.fail('has a record header longer than its record');
  const types: number[] = [];
  for (let off = n; off < headerLen;) {
    const [t, m] = varint(rec, off, pages);
    types.push(t);
    off += m;
  }
  const values: SqliteValue[] = [];
  let off = headerLen;
  const take = (len: number) => {
    if (off + len > rec.length) pages.fail('has a record value that runs past its record');
    const v = rec.subarray(off, off + len);
    off += len;
    return v;
  };
  for (const t of types) {
    if (t === 0) values.push(null);
    else if (t >= 1 && t <= 6) {
      const bytes = take([0, 1, 2, 3, 4, 6, 8][t]!);
      values.push(Number(BigInt.asIntN(bytes.length * 8, BigInt('0x' + Buffer.from(bytes).toString('hex')))));
    } else if (t === 7) values.push(Buffer.from(take(8)).readDoubleBE(0));
    else if (t === 8 || t === 9) values.push(t - 8);
    else if (t >= 12 && t % 2 === 0) values.push(Uint8Array.from(take((t - 12) / 2)));
    else if (t >= 13) values.push(Buffer.from(take((t - 13) / 2)).toString('utf8'));
    else pages.fail(`has a record with the reserved serial type ${t}`);
  }
  return values;
}

/** Every row of the table b-tree rooted at `root`, in rowid order. */
function tableRows(pages: Pages, root: number): SqliteValue[][] {
  const rows: SqliteValue[][] = [];
  const seen = new Set<number>();
  const walk = (n: number, depth: number): void => {
    if (depth > MAX_DEPTH || seen.has(n)) pages.fail(`has a b-tree that loops at page ${n}`);
    seen.add(n);
    const page = pages.page(n);
    const h = n === 1 ? 100 : 0;
    const type = page[h];
    const cells = u16(page, h + 3);
    const interior = type === 5;
    if (type !== 5 && type !== 13) pages.fail(`has page ${n} of type ${type} where a table b-tree page belongs`);
    const ptrs = h + (interior ? 12 : 8);
    for (let i = 0; i < cells; i++) {
      const off = u16(page, ptrs + 2 * i);
      if (off >= page.length) pages.fail(`has a cell pointer outside page ${n}`);
      if (interior) walk(u32(page, off), depth + 1);
      else rows.push(decodeRecord(cellPayload(pages, page, off), pages));
    }
    if (interior) walk(u32(page, h + 8), depth + 1);
  };
  walk(root, 0);
  return rows;
}

/**
 * The rows of table `table` (each a list of its column values, in the table's column order), or
 * `undefined` when the database has no such table. `wal` is the `-wal` file beside it, if any.
 */
export function readSqliteTable(
  db: Uint8Array,
  wal: Uint8Array | undefined,
  table: string,
  src: SqliteSource,
): SqliteValue[][] | undefined {
  const pages = new Pages(db, wal, src);
  // sqlite_schema (page 1): type, name, tbl_name, rootpage, sql.
  const entry = tableRows(pages, 1).find((r) => r[0] === 'table' && r[1] === table);
  if (!entry) return undefined;
  const root = entry[3];
  if (typeof root !== 'number') return pages.fail(`has no root page for table ${table}`);
  return tableRows(pages, root);
}
