/**
 * Temporary directories for tests, removed after each test file by test/setup.ts (which every
 * project loads before each file, so this module imports nothing heavy). KEEP_TEST_DIRS=1 keeps them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];

/**
 * A fresh temporary directory, removed after the test file (a hook registered here would be
 * ignored when tempDir runs inside a hook or a test).
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
