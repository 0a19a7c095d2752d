/** Reading bundle.json only after its detached signature holds under a trusted key. */
import { promises as fsp } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { AirgapError } from '../errors.js';
import { bundlePath } from './layout.js';
import { parseManifest, type BundleManifest } from './manifest.js';
import { verifyDetachedWithAnyKey } from './signing.js';

export type TrustedKeys = ReadonlyArray<{ file: string; key: KeyObject }>;

export function trustManifestBytes(text: Buffer, sig: string, keys: TrustedKeys, what: string): { manifest: BundleManifest; signedBy: string } {
  const signedBy = verifyDetachedWithAnyKey(text, sig, keys, what);
  return { manifest: parseManifest(text.toString('utf8'), what), signedBy };
}

export async function readTrustedManifest(dir: string, keys: TrustedKeys): Promise<{ manifest: BundleManifest; text: Buffer; signedBy: string }> {
  let text: Buffer;
  let sig: string;
  try {
    text = await fsp.readFile(bundlePath.manifest(dir));
  } catch (e) {
    throw new AirgapError('BUNDLE_MANIFEST_MISSING', `${bundlePath.manifest(dir)} is missing: ${dir} is not a bundle (or its create did not finish)`, { cause: e });
  }
  try {
    sig = await fsp.readFile(bundlePath.signature(dir), 'utf8');
  } catch (e) {
    throw new AirgapError('BUNDLE_SIGNATURE_MISSING', `${bundlePath.signature(dir)} is missing: the bundle is not signed`, { cause: e });
  }
  return { ...trustManifestBytes(text, sig, keys, bundlePath.manifest(dir)), text };
}
