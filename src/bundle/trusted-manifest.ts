/** Reading bundle.json only after its detached signature holds under a trusted key. */
import type { KeyObject } from 'node:crypto';
import { readRegularFile, SMALL_JSON_LIMIT } from '../util/bounded-read.js';
import { bundlePath } from './layout.js';
import { parseManifest, type BundleManifest } from './manifest.js';
import { verifyDetachedWithAnyKey } from './signing.js';

export type TrustedKeys = ReadonlyArray<{ file: string; key: KeyObject }>;

export function trustManifestBytes(
  text: Buffer,
  sig: string,
  keys: TrustedKeys,
  what: string,
): { manifest: BundleManifest; signedBy: string } {
  const signedBy = verifyDetachedWithAnyKey(text, sig, keys, what);
  return { manifest: parseManifest(text.toString('utf8'), what), signedBy };
}

export async function readTrustedManifest(
  dir: string,
  keys: TrustedKeys,
): Promise<{ manifest: BundleManifest; text: Buffer; signedBy: string }> {
  const text = await readRegularFile(
    bundlePath.manifest(dir),
    SMALL_JSON_LIMIT,
    'BUNDLE_MANIFEST_MISSING',
    `bundle manifest (is ${dir} a finished bundle?)`,
  );
  const sig = (
    await readRegularFile(bundlePath.signature(dir), 64 * 1024, 'BUNDLE_SIGNATURE_MISSING', 'bundle signature')
  ).toString('utf8');
  return { ...trustManifestBytes(text, sig, keys, bundlePath.manifest(dir)), text };
}
