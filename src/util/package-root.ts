/** The directory of this package (holding bundles/ and templates/), found from this module's URL. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null | undefined;

export function packageRoot(): string | undefined {
  if (cached !== undefined) return cached ?? undefined;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'rekor-airgap') {
          cached = dir;
          return dir;
        }
      } catch {
        /* keep looking */
      }
    }
    dir = path.dirname(dir);
  }
  cached = null;
  return undefined;
}

export const TOOL_VERSION: string = (() => {
  const root = packageRoot();
  if (root) {
    try {
      return (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      /* fall through */
    }
  }
  return process.env.REKOR_AIRGAP_VERSION ?? '0.0.0';
})();
