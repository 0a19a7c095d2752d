import { describe, expect, it } from 'vitest';
import { decodeB64 } from '../../../src/rekor/log-http.js';
import { expectCode } from '../../helpers/expect-code.js';

describe('base64 from a log: one spelling per value', () => {
  const bytes = Buffer.from('zl503vkrYE7gAoEzJt+ZcaeXESyCbcvA7cGiH/qSERs=', 'base64');
  it('standard and URL-safe, with or without padding, give the bytes', () => {
    for (const s of [
      bytes.toString('base64'),
      bytes.toString('base64url'),
      bytes.toString('base64').replace(/=+$/, ''),
    ])
      expect(Buffer.from(decodeB64(s, 'h')).equals(bytes), s).toBe(true);
  });
  it('a value mixing the alphabets, or with stray bits in its last character, is refused', () => {
    expectCode(() => decodeB64('zl503vkrYE7gAoEzJt-ZcaeXESyCbcvA7cGiH/qSERs=', 'h'), 'SMOKE_BAD_RESPONSE');
    // "Rw==" is the canonical "G"; "Rx==" decodes to the same byte.
    expect(Buffer.from(decodeB64('Rw==', 'h')).toString()).toBe('G');
    expectCode(() => decodeB64('Rx==', 'h'), 'SMOKE_BAD_RESPONSE');
  });
});
