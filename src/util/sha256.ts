/**
 * The one spelling of a SHA-256 as this tool reads it from outside: a content digest
 * (`sha256:` and 64 lowercase hex digits, as OCI and bundle.json write it) or its bare hex
 * (file lists, key IDs, tree roots). `Digest` is a string that passed the check.
 */

export const SHA256_DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;
export const SHA256_HEX_PATTERN = /^[a-f0-9]{64}$/;

/** `sha256:<64 lowercase hex>`, checked (see `isDigest`). */
export type Digest = string & { readonly __digest: unique symbol };

export function isDigest(s: unknown): s is Digest {
  return typeof s === 'string' && SHA256_DIGEST_PATTERN.test(s);
}

export function isSha256Hex(s: unknown): s is string {
  return typeof s === 'string' && SHA256_HEX_PATTERN.test(s);
}

/** The 64 hex digits of a checked digest. */
export function digestHex(d: Digest): string {
  return d.slice('sha256:'.length);
}
