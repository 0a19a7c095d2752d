/** Temporary directories and signing keys for tests. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from './cli.js';

const made: string[] = [];

/**
 * A fresh temporary directory, removed after the test file (by test/setup.ts, which every project
 * loads; a hook registered here would be ignored when tempDir runs inside a hook or a test).
 * KEEP_TEST_DIRS=1 keeps them.
 */
export function tempDir(prefix = 'rekor-airgap-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  if (process.env.KEEP_TEST_DIRS) return;
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
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
