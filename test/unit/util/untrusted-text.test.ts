/** Outside text for messages: control characters made visible, invalid UTF-8 replaced, length capped. */
import { describe, expect, it } from 'vitest';
import { printable, SHOWN_CHARS } from '../../../src/util/untrusted-text.js';

describe('printable', () => {
  it('escapes C0, DEL and C1 controls, bidi overrides and line separators', () => {
    expect(printable('a\u001b[31mb\u0007c\u007fd\u009be\u202ef\u2028g\r\nh\ti')).toBe(
      'a\\x1b[31mb\\x07c\\x7fd\\x9be\\u202ef\\u2028g\\x0d\\x0ah\\x09i',
    );
  });

  it('keeps line feeds when asked (a PEM block, a checkpoint), and escapes the rest', () => {
    expect(printable('line 1\nline\u001b 2\r\n', { keepNewlines: true })).toBe('line 1\nline\\x1b 2\\x0d\n');
  });

  it('leaves ordinary text, other scripts and emoji alone', () => {
    expect(printable('tree size 3 — Größe ✓ 🙂')).toBe('tree size 3 — Größe ✓ 🙂');
  });

  it('caps what it shows and says how much there was', () => {
    const s = printable('x'.repeat(10_000));
    expect(s.startsWith('x'.repeat(SHOWN_CHARS))).toBe(true);
    expect(s).toContain('(10000 characters in all)');
    expect(s.length).toBeLessThan(SHOWN_CHARS + 40);
    expect(printable(Buffer.alloc(32 * 1024 * 1024, 0x41), { max: 50 })).toBe(
      `${'A'.repeat(50)}… (33554432 bytes in all)`,
    );
  });

  it('reads bytes as UTF-8: invalid sequences and lone surrogates become U+FFFD', () => {
    expect(printable(Buffer.from([0x61, 0xff, 0xfe, 0x62]))).toBe('a\ufffd\ufffdb');
    expect(printable('a\ud800b')).toBe('a\ufffdb');
    // Cutting inside a surrogate pair leaves no half of it.
    expect(printable('ab🙂', { max: 3 })).toBe('ab\ufffd… (4 characters in all)');
  });
});
