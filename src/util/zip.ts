/** Reads one file out of a zip archive held in memory (stored or deflated entries). */
import { inflateRawSync } from 'node:zlib';
import { AirgapError } from '../errors.js';

export function extractFromZip(zip: Buffer, wanted: string, what: string): Buffer {
  const fail = (why: string): never => {
    throw new AirgapError('ARTIFACT_ZIP_INVALID', `${what}: ${why}`);
  };
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail('not a zip archive (no end of central directory)');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let n = 0; n < count; n++) {
    if (p + 46 > zip.length || zip.readUInt32LE(p) !== 0x02014b50) fail('corrupt central directory');
    const method = zip.readUInt16LE(p + 10);
    const compSize = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    names.push(name);
    if (name === wanted) {
      if (zip.readUInt32LE(local) !== 0x04034b50) fail(`corrupt local header of ${name}`);
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + compSize);
      const out =
        method === 0
          ? Buffer.from(data)
          : method === 8
            ? inflateRawSync(data)
            : fail(`${name} uses unsupported compression method ${method}`);
      if (out.length !== size) fail(`${name} inflated to ${out.length} bytes, expected ${size}`);
      return out;
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  throw new AirgapError(
    'ARTIFACT_NOT_IN_ARCHIVE',
    `${what}: ${wanted} is not in the archive (${names.length} entries)`,
  );
}
