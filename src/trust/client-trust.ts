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
  operator: string;
}

export interface TsaFacts {
  url: string;
  /** PEM certificates, leaf first. */
  chainPem: string[];
  validFrom: string;
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

export function trustedRoot(log: LogFacts, tsas: readonly TsaFacts[] = []): Record<string, unknown> {
  if (!isSha256Hex(log.logKeyId))
    throw new AirgapError('USAGE_BAD_LOG_KEY', `log key ID ${log.logKeyId} is not 32 bytes of hex`);
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: [
      {
        baseUrl: log.url,
        hashAlgorithm: 'SHA2_256',
        publicKey: { ...keyDetails(log.logPublicKeyPem), validFor: { start: log.validFrom } },
        logId: { keyId: Buffer.from(log.logKeyId, 'hex').toString('base64') },
        operator: log.operator,
      },
    ],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: tsas.map((t) => ({
      subject: { organization: t.organization, commonName: t.commonName },
      uri: t.url,
      certChain: { certificates: t.chainPem.flatMap(pemBodies).map((rawBytes) => ({ rawBytes })) },
      validFor: { start: t.validFrom },
      operator: log.operator,
    })),
  };
}

export function signingConfig(
  log: LogFacts,
  tsas: readonly Pick<TsaFacts, 'url' | 'validFrom'>[] = [],
): Record<string, unknown> {
  return {
    mediaType: SIGNING_CONFIG_MEDIA_TYPE,
    caUrls: [],
    oidcUrls: [],
    rekorTlogUrls: [
      { url: log.url, majorApiVersion: log.apiVersion, validFor: { start: log.validFrom }, operator: log.operator },
    ],
    rekorTlogConfig: { selector: 'ANY' },
    tsaUrls: tsas.map((t) => ({
      url: `${t.url.replace(/\/$/, '')}/api/v1/timestamp`,
      majorApiVersion: 1,
      validFor: { start: t.validFrom },
      operator: log.operator,
    })),
    tsaConfig: { selector: 'ANY' },
  };
}
