/**
 * The install receipt: an in-toto statement, about the bundle that was installed (the SHA-256 of
 * its signed bundle.json), of what the install verified and made. Pure.
 */
import { canonicalJson } from '../util/canonical-json.js';

export const RECEIPT_PREDICATE_TYPE = 'urn:rekor-airgap:install-receipt:v1';

export interface ReceiptImage {
  ref: string;
  /** The digest the tag resolved to at create. */
  digest: string;
  /** The image ID loaded into the engine (its config digest). */
  imageId: string;
  /** The upstream provenance verdict, verified again before the load, as a sentence. */
  provenance: string;
  /** The same verdict as data (identity, issuer, predicate types, source), for an auditor's tools. */
  verdict?: unknown;
}

export interface ReceiptInput {
  bundleSha256: string;
  bundleCreatedAt: string;
  bundleSignedBy: string;
  instance: string;
  profile: string;
  release: number;
  tool: string;
  installedAt: string;
  images: ReceiptImage[];
  /** Each rendered configuration file (relative to the instance) and its SHA-256. */
  configuration: Array<{ path: string; sha256: string }>;
  /** The log's checkpoint when the receipt was made: its first, before any entry. */
  checkpoint: string;
}

export function receiptStatement(r: ReceiptInput): Buffer {
  return Buffer.from(
    canonicalJson({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'bundle.json', digest: { sha256: r.bundleSha256 } }],
      predicateType: RECEIPT_PREDICATE_TYPE,
      predicate: {
        instance: r.instance,
        profile: r.profile,
        release: r.release,
        tool: r.tool,
        installedAt: r.installedAt,
        bundle: { createdAt: r.bundleCreatedAt, signedBy: r.bundleSignedBy, verified: 'signature and every file' },
        images: r.images,
        configuration: r.configuration,
        log: { checkpoint: r.checkpoint },
      },
    }),
  );
}
