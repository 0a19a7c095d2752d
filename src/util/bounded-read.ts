/**
 * Reading a small file of outside origin: it must be a regular file (not a link, FIFO or device,
 * which could block or redirect the read) no larger than a cap, checked before a byte is read.
 */
import { constants, promises as fsp } from 'node:fs';
import { AirgapError, type ErrorCode } from '../errors.js';

export const SMALL_JSON_LIMIT = 16 * 1024 * 1024;

export async function readRegularFile(file: string, limit: number, code: ErrorCode, what: string): Promise<Buffer> {
  let fh;
  try {
    // O_NOFOLLOW refuses a link; O_NONBLOCK keeps a FIFO from blocking the open.
    fh = await fsp.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    const why = errno === 'ELOOP' ? 'is a symbolic link' : errno === 'ENOENT' ? 'is missing' : `is unreadable (${errno ?? (e as Error).message})`;
    throw new AirgapError(code, `${what} ${file} ${why}`, { cause: e });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new AirgapError(code, `${what} ${file} is not a regular file`);
    if (st.size > limit) throw new AirgapError(code, `${what} ${file} is ${st.size} bytes, more than the ${limit} allowed`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const { bytesRead } = await fh.read(buf, off, st.size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    if (off !== st.size) throw new AirgapError(code, `${what} ${file} changed while it was read`);
    return buf;
  } finally {
    await fh.close();
  }
}
