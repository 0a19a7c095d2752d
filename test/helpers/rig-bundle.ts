/** A signed bundle of a profile, made by `bundle create` from the rig's registry (the connected side). */
import path from 'node:path';
import { runCli, type CliResult } from './cli.js';
import type { SigningKey } from './fixtures.js';
import { rigSources, type Rig } from './rig.js';

export async function createRigBundle(
  r: Rig,
  dir: string,
  key: SigningKey,
  profile = 'rekor-v2',
): Promise<{ bundle: string; result: CliResult }> {
  const bundle = path.join(dir, 'bundle');
  const result = await runCli([
    'bundle',
    'create',
    '--quiet',
    '--profile',
    profile,
    '--out',
    bundle,
    '--key',
    key.key,
    '--passphrase-file',
    key.passphraseFile,
    ...rigSources(r),
  ]);
  return { bundle, result };
}
