/**
 * Registry answers as typed values: an image manifest or an index parsed from untrusted bytes, each
 * descriptor checked (sha256 digest, whole size, string media type), or REGISTRY_BAD_MANIFEST. Size
 * and nesting are capped before the bytes are parsed (the one reader of untrusted JSON).
 */
import { AirgapError } from '../errors.js';
import { isJsonObject, parseUntrustedJson } from '../util/untrusted-json.js';
import type { Descriptor, ImageIndex, ImageManifest, Platform } from './media-types.js';
import { isDigest } from '../util/sha256.js';

const MAX_ENTRIES = 10_000;

/** The distribution spec's limit for a manifest a registry must accept (configs keep the reader's default). */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

type Obj = Record<string, unknown>;

function fail(what: string, why: string): never {
  throw new AirgapError('REGISTRY_BAD_MANIFEST', `${what}: ${why}`);
}

function jsonObject(bytes: Uint8Array, what: string, maxBytes?: number): Obj {
  const v = parseUntrustedJson(bytes, { what, code: 'REGISTRY_BAD_MANIFEST' }, maxBytes ? { maxBytes } : {});
  if (!isJsonObject(v)) fail(what, 'not a JSON object');
  return v;
}

function json(bytes: Uint8Array, what: string): Obj {
  const v = jsonObject(bytes, what, MAX_MANIFEST_BYTES);
  if (v.schemaVersion !== 2) fail(what, `schemaVersion ${JSON.stringify(v.schemaVersion)} is not 2`);
  return v;
}

function platform(v: unknown, what: string): Platform | undefined {
  if (v === undefined) return undefined;
  if (!isJsonObject(v) || typeof v.os !== 'string' || typeof v.architecture !== 'string')
    return fail(what, 'platform needs os and architecture');
  if (v.variant !== undefined && typeof v.variant !== 'string') fail(what, 'platform variant must be a string');
  return { os: v.os, architecture: v.architecture, ...(typeof v.variant === 'string' ? { variant: v.variant } : {}) };
}

export function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isJsonObject(v)) return fail(what, 'a descriptor is not an object');
  if (typeof v.mediaType !== 'string') fail(what, 'descriptor mediaType must be a string');
  if (!isDigest(v.digest)) fail(what, `descriptor digest ${JSON.stringify(v.digest)} is not sha256:<64 hex>`);
  if (!Number.isSafeInteger(v.size) || (v.size as number) < 0)
    fail(what, `descriptor size ${JSON.stringify(v.size)} is not a whole number`);
  const p = platform(v.platform, what);
  const d: Descriptor = {
    mediaType: v.mediaType as string,
    digest: v.digest as string,
    size: v.size as number,
    ...(p ? { platform: p } : {}),
  };
  if (isJsonObject(v.annotations))
    d.annotations = Object.fromEntries(
      Object.entries(v.annotations).filter(([, x]) => typeof x === 'string'),
    ) as Record<string, string>;
  return d;
}

export function parseImageIndex(bytes: Uint8Array, what: string): ImageIndex {
  const v = json(bytes, what);
  if (!Array.isArray(v.manifests)) fail(what, 'manifests must be a list');
  if ((v.manifests as unknown[]).length > MAX_ENTRIES) fail(what, 'too many manifests');
  return {
    schemaVersion: 2,
    ...(typeof v.mediaType === 'string' ? { mediaType: v.mediaType } : {}),
    manifests: (v.manifests as unknown[]).map((m) => parseDescriptor(m, what)),
  };
}

export function parseImageManifest(bytes: Uint8Array, what: string): ImageManifest {
  const v = json(bytes, what);
  if (!isJsonObject(v.config)) fail(what, 'has no config');
  if (!Array.isArray(v.layers)) fail(what, 'has no layers');
  if ((v.layers as unknown[]).length > MAX_ENTRIES) fail(what, 'too many layers');
  return {
    schemaVersion: 2,
    ...(typeof v.mediaType === 'string' ? { mediaType: v.mediaType } : {}),
    config: parseDescriptor(v.config, what),
    layers: (v.layers as unknown[]).map((l) => parseDescriptor(l, what)),
  };
}

/** The platform fields of an image config (os, architecture, variant); missing ones are "unknown". */
export function parseImageConfigPlatform(
  bytes: Uint8Array,
  what: string,
): { os: string; architecture: string; variant?: string } {
  const v = jsonObject(bytes, what);
  const s = (x: unknown) => (typeof x === 'string' ? x : undefined);
  const variant = s(v.variant);
  return { os: s(v.os) ?? 'unknown', architecture: s(v.architecture) ?? 'unknown', ...(variant ? { variant } : {}) };
}
