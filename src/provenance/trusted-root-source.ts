/**
 * Where `bundle create` gets Sigstore's trusted root: a file the operator gives
 * (`--sigstore-trusted-root`, e.g. one captured and reviewed earlier), or Sigstore's TUF
 * repository, verified from the root of trust @sigstore/tuf embeds. The bytes are carried in the
 * bundle, so the offline side verifies with exactly what the connected side used.
 */
import { AirgapError } from '../errors.js';
import { readRegularFile } from '../util/bounded-read.js';
import { readTrustedRoot, type SigstoreTrust } from './verify-attestation.js';

const TRUSTED_ROOT_LIMIT = 4 * 1024 * 1024;

export interface LoadedTrustedRoot {
  bytes: Buffer;
  trust: SigstoreTrust;
  /** Where it came from, for messages. */
  source: string;
}

export function trustedRootFromBytes(bytes: Buffer, source: string): LoadedTrustedRoot {
  return { bytes, trust: readTrustedRoot(bytes, source), source };
}

export async function loadTrustedRoot(file: string | undefined): Promise<LoadedTrustedRoot> {
  if (file) {
    const bytes = await readRegularFile(
      file,
      TRUSTED_ROOT_LIMIT,
      'PROVENANCE_TRUSTED_ROOT_INVALID',
      'Sigstore trusted root',
    );
    return trustedRootFromBytes(bytes, file);
  }
  const { getTrustedRoot } = await import('@sigstore/tuf');
  const { TrustedRoot } = await import('@sigstore/protobuf-specs');
  try {
    const root = await getTrustedRoot();
    const bytes = Buffer.from(JSON.stringify(TrustedRoot.toJSON(root), null, 2) + '\n');
    return trustedRootFromBytes(bytes, "Sigstore's TUF repository (tuf-repo-cdn.sigstore.dev)");
  } catch (e) {
    if (e instanceof AirgapError) throw e;
    throw new AirgapError(
      'PROVENANCE_TRUSTED_ROOT_UNAVAILABLE',
      `could not fetch Sigstore's trusted root from its TUF repository: ${(e as Error).message}; give one with --sigstore-trusted-root FILE`,
      { cause: e },
    );
  }
}
