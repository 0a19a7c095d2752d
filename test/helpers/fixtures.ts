/** Temporary directories and signing keys for tests. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { runCli } from './cli.js';

export function tempDir(prefix = 'rekor-airgap-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => { if (!process.env.KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true }); });
  return dir;
}

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
