import { describe, expect, it } from 'vitest';
import { digestHex, isDigest, isSha256Hex } from '../../../src/util/sha256.js';

describe('one spelling of a SHA-256', () => {
  const hex = 'ab'.repeat(32);
  it('a digest is sha256: and 64 lowercase hex digits, nothing around it', () => {
    expect(isDigest(`sha256:${hex}`)).toBe(true);
    for (const bad of [
      hex,
      `sha256:${hex.toUpperCase()}`,
      `sha256:${hex}\n`,
      ` sha256:${hex}`,
      `sha512:${hex}`,
      `sha256:${hex.slice(1)}`,
      42,
      undefined,
    ]) {
      expect(isDigest(bad), String(bad)).toBe(false);
    }
  });
  it('bare hex is 64 lowercase digits; a digest gives its hex', () => {
    expect(isSha256Hex(hex)).toBe(true);
    expect(isSha256Hex(`${hex}0`)).toBe(false);
    expect(isSha256Hex(hex.toUpperCase())).toBe(false);
    const d = `sha256:${hex}`;
    if (!isDigest(d)) throw new Error('not a digest');
    expect(digestHex(d)).toBe(hex);
  });
});
