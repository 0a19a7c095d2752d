import { describe, expect, it } from 'vitest';
import { nestingDepth, parseUntrustedJson, readUntrustedJson } from '../../../src/util/untrusted-json.js';
import { expectCode } from '../../helpers/expect-code.js';

const src = { what: 'backup.json', code: 'BACKUP_ARCHIVE_CORRUPT' } as const;

describe('untrusted JSON', () => {
  it('refuses deep nesting before parsing (64 MiB of "[" is a scan, not gigabytes)', () => {
    const deep = '['.repeat(8 * 1024 * 1024);
    const t0 = Date.now();
    const e = expectCode(() => parseUntrustedJson(deep, src, { maxBytes: 16 * 1024 * 1024 }), 'BACKUP_ARCHIVE_CORRUPT');
    expect(e.message).toMatch(/nests deeper than 64/);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('counts brackets inside strings as text', () => {
    expect(nestingDepth('{"a":"[[[[[[[[\\"[[["}', 3)).toBe(1);
    expect(parseUntrustedJson(`{"a":"${'['.repeat(500)}"}`, src)).toEqual({ a: '['.repeat(500) });
  });

  it('refuses input over the size cap', () => {
    expectCode(() => parseUntrustedJson(Buffer.alloc(2048, 0x20), src, { maxBytes: 1024 }), 'BACKUP_ARCHIVE_CORRUPT');
  });

  it('reads typed values and names the path at fault', () => {
    const v = readUntrustedJson('{"files":[{"mode":"x"}],"n":3,"s":"ab"}', src);
    expect(v.at('n').int()).toBe(3);
    expect(v.at('s').string(/^[a-z]+$/)).toBe('ab');
    expect(v.at('missing').isAbsent).toBe(true);
    const e = expectCode(() => v.at('files').list()[0]!.at('mode').int(), 'BACKUP_ARCHIVE_CORRUPT');
    expect(e.message).toBe('backup.json: files[0].mode is not a whole number');
    expectCode(
      () => readUntrustedJson('{"files":[null]}', src).at('files').list()[0]!.at('path'),
      'BACKUP_ARCHIVE_CORRUPT',
    );
  });

  it('reads only own properties: __proto__ is a key like any other', () => {
    const v = readUntrustedJson('{"__proto__":{"polluted":1}}', src);
    expect(v.at('polluted').isAbsent).toBe(true);
    expect(v.at('toString').isAbsent).toBe(true);
    expect(v.keys()).toEqual(['__proto__']);
    expect(v.at('__proto__').at('polluted').int()).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('oneOf refuses what is not listed', () => {
    expectCode(
      () => readUntrustedJson('{"kind":"__proto__"}', src).at('kind').oneOf(['rekor-v1', 'rekor-v2']),
      'BACKUP_ARCHIVE_CORRUPT',
    );
  });
});
