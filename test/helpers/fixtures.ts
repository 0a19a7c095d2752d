/** Temporary directories (see temp-dirs.ts) and signing keys for tests. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from './cli.js';

export { removeTempDirs, tempDir } from './temp-dirs.js';

export interface SigningKey {
  key: string;
  pub: string;
  passphraseFile: string;
}

export async function makeSigningKey(dir: string, name = 'signing'): Promise<SigningKey> {
  const passphraseFile = path.join(dir, `${name}.pass`);
  writeFileSync(passphraseFile, `passphrase for ${name} key\n`, { mode: 0o600 });
  const r = await runCli(['bundle', 'keygen', '--out', path.join(dir, name), '--passphrase-file', passphraseFile]);
  if (r.exitCode !== 0) throw new Error(`keygen failed: ${r.stderr}`);
  return { key: path.join(dir, `${name}.key`), pub: path.join(dir, `${name}.pub`), passphraseFile };
}
