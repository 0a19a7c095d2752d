/**
 * The two files Sigstore clients (cosign, sigstore-go, sigstore-js) find a private log by:
 * `trusted_root.json` (what to trust: the log's key, ID and URL) and `signing_config.json` (where to
 * write). Pure functions of the instance's facts; protobuf-specs' JSON names
 * (sigstore/protobuf-specs, trustroot/v1).
 */
import { createPublicKey } from 'node:crypto';
import { AirgapError } from '../errors.js';
import { isSha256Hex } from '../util/sha256.js';

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';
export const SIGNING_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.signingconfig.v0.2+json';

export interface LogFacts {
  /** The instance URL; its host is what clients connect to. */
  url: string;
  /** PEM of the log's public key. */
  logPublicKeyPem: string;
  /** Hex of the 32-byte key ID the log writes into its entries. */
  logKeyId: string;
  /** Major API version: 2 (rekor-tiles) or 1 (rekor-server). */
  apiVersion: 1 | 2;
  /** When the key began to sign (no later than the install). */
  validFrom: string;
  /** When the log stopped taking entries (a shard rotated out): its key stays trusted for what it signed. */
  validUntil?: string;
  operator: string;
}

export interface TsaFacts {
  url: string;
  /** PEM certificates, leaf first. */
  chainPem: string[];
  validFrom: string;
  /** When the authority's shard was rotated out (its earlier timestamps stay trusted). */
  validUntil?: string;
  commonName: string;
  organization: string;
}

function keyDetails(pem: string): { rawBytes: string; keyDetails: string } {
  let key;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new AirgapError('USAGE_BAD_LOG_KEY', 'the log public key is not a PEM public key', { cause: e });
  }
  const der = key.export({ format: 'der', type: 'spki' });
  if (key.asymmetricKeyType === 'ed25519') return { rawBytes: der.toString('base64'), keyDetails: 'PKIX_ED25519' };
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')
    return { rawBytes: der.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256' };
  throw new AirgapError(
    'NOTE_UNSUPPORTED_KEY',
    `a log key of type ${key.asymmetricKeyType} (${key.asymmetricKeyDetails?.namedCurve ?? '-'}) has no trusted-root form here`,
  );
}

function pemBodies(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) =>
    m[1]!.replace(/\s+/g, ''),
  );
}

/** `{start, end}` of a validity window (protobuf-specs TimeRange; both ends inclusive). */
function window(from: string, until?: string): { start: string; end?: string } {
  return until ? { start: from, end: until } : { start: from };
}

/**
 * Newest first (by the start of the window): protobuf-specs asks services to be listed so, and a
 * log's shards read best in that order too.
 */
export function newestFirst<T extends { validFrom: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => Date.parse(b.validFrom) - Date.parse(a.validFrom));
}

function asList(logs: LogFacts | readonly LogFacts[]): LogFacts[] {
  const list = Array.isArray(logs) ? [...(logs as readonly LogFacts[])] : [logs as LogFacts];
  if (!list.length) throw new AirgapError('INTERNAL_BUG', 'trust files need at least one log');
  return newestFirst(list);
}

/**
 * trusted_root.json for one log, or every shard of a rotated log: each its key, its origin's key
 * ID and its window (a shard rotated out ends when it went read-only; the entries it holds keep
 * verifying, since a Rekor v2 entry has no time to hold against the window).
 */
export function trustedRoot(
  logs: LogFacts | readonly LogFacts[],
  tsas: readonly TsaFacts[] = [],
): Record<string, unknown> {
  const list = asList(logs);
  for (const log of list)
    if (!isSha256Hex(log.logKeyId))
      throw new AirgapError('USAGE_BAD_LOG_KEY', `log key ID ${log.logKeyId} is not 32 bytes of hex`);
  const operator = list[0]!.operator;
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: list.map((log) => ({
      baseUrl: log.url,
      hashAlgorithm: 'SHA2_256',
      publicKey: { ...keyDetails(log.logPublicKeyPem), validFor: window(log.validFrom, log.validUntil) },
      logId: { keyId: Buffer.from(log.logKeyId, 'hex').toString('base64') },
      operator: log.operator,
    })),
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: newestFirst(tsas).map((t) => ({
      subject: { organization: t.organization, commonName: t.commonName },
      uri: t.url,
      certChain: { certificates: t.chainPem.flatMap(pemBodies).map((rawBytes) => ({ rawBytes })) },
      validFor: window(t.validFrom, t.validUntil),
      operator,
    })),
  };
}

/**
 * signing_config.json (v0.2): where clients write. Every shard is listed with its window, newest
 * first and under one operator, so a client (sigstore-go's SelectServices: the newest valid service
 * of each operator) writes to the current shard only; a shard rotated out is past its end.
 */
export function signingConfig(
  logs: LogFacts | readonly LogFacts[],
  tsas: readonly Pick<TsaFacts, 'url' | 'validFrom' | 'validUntil'>[] = [],
): Record<string, unknown> {
  const list = asList(logs);
  const operator = list[0]!.operator;
  return {
    mediaType: SIGNING_CONFIG_MEDIA_TYPE,
    caUrls: [],
    oidcUrls: [],
    rekorTlogUrls: list.map((log) => ({
      url: log.url,
      majorApiVersion: log.apiVersion,
      validFor: window(log.validFrom, log.validUntil),
      operator: log.operator,
    })),
    rekorTlogConfig: { selector: 'ANY' },
    tsaUrls: newestFirst(tsas).map((t) => ({
      url: `${t.url.replace(/\/$/, '')}/api/v1/timestamp`,
      majorApiVersion: 1,
      validFor: window(t.validFrom, t.validUntil),
      operator,
    })),
    tsaConfig: { selector: 'ANY' },
  };
}
