/**
 * Text that came from outside (a server's health answer or error body, a registry's message, a
 * certificate's subject, an entry's fields) made fit for a message or a terminal: control
 * characters (C0, DEL, C1), bidirectional overrides, invisible marks and line separators become
 * visible escapes (`\x1b`, `\u202e`), bytes that are not UTF-8 become U+FFFD, and only the first
 * few hundred characters are shown, with the size of the rest said. The one place this is done.
 */

/** How many characters of outside text a message shows by default. */
export const SHOWN_CHARS = 300;

export interface PrintableOptions {
  /** Characters shown at most (default SHOWN_CHARS). */
  max?: number;
  /** Keep line feeds (a PEM block, a checkpoint); everything else is still escaped. */
  keepNewlines?: boolean;
}

// C0 and C1 controls, DEL, zero-width and bidirectional marks, line and paragraph separators,
// bidi embeddings, overrides and isolates, word joiners, the BOM.
// eslint-disable-next-line no-control-regex -- matching control characters is the point: each is escaped
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function escape(c: string): string {
  const n = c.charCodeAt(0);
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
}

/** `input` (text, or bytes read as UTF-8) as safe, bounded text for a message. */
export function printable(input: string | Uint8Array, opts: PrintableOptions = {}): string {
  const max = Math.max(1, opts.max ?? SHOWN_CHARS);
  let head: string;
  let total: string | undefined;
  if (typeof input === 'string') {
    head = input.length > max ? input.slice(0, max) : input;
    if (input.length > max) total = `${input.length} characters`;
  } else {
    // Only the head is decoded: a 32 MiB answer costs a slice, not a scan.
    const bytes = Buffer.from(input.buffer, input.byteOffset, Math.min(input.length, max * 4));
    const decoded = bytes.toString('utf8');
    head = decoded.length > max ? decoded.slice(0, max) : decoded;
    if (decoded.length > max || input.length > bytes.length) total = `${input.length} bytes`;
  }
  const safe = head
    .replace(LONE_SURROGATE, '\ufffd')
    .replace(UNSAFE, (c) => (opts.keepNewlines && c === '\n' ? c : escape(c)));
  return total ? `${safe}… (${total} in all)` : safe;
}
