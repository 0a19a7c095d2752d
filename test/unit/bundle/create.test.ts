/** `bundle create` as a library call: what it refuses before anything is pulled or written. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBundle, loadBundleProfiles } from '../../../src/bundle/create.js';
import { silentProgress } from '../../../src/util/progress.js';
import { expectCodeAsync } from '../../helpers/expect-code.js';
import { tempDir } from '../../helpers/fixtures.js';
import { testKey } from '../../helpers/synthetic-bundle.js';

/** A profile with its templates beside it (bundles/NAME.yaml, templates/NAME/), of the given kind. */
function profileOfKind(kind: string): string {
  const dir = tempDir('create-');
  mkdirSync(path.join(dir, 'bundles'));
  mkdirSync(path.join(dir, 'templates', 'mine'), { recursive: true });
  writeFileSync(path.join(dir, 'templates', 'mine', 'compose.yaml'), 'services: {}\n');
  const file = path.join(dir, 'bundles', 'mine.yaml');
  writeFileSync(
    file,
    `name: mine\nkind: ${kind}\nimages:\n  - name: app\n    ref: registry.invalid/team/app:1.0\ntemplates:\n  - compose.yaml\nports:\n  https: 3443\n`,
  );
  return file;
}

describe('when a profile names a kind of stack this tool cannot install', () => {
  it('createBundle refuses it with USAGE_UNKNOWN_STACK before writing anything (no CLI in between)', async () => {
    const dir = tempDir('create-');
    const out = path.join(dir, 'bundle');
    const e = await expectCodeAsync(
      () =>
        createBundle({
          profiles: [profileOfKind('rekor-v3')],
          out,
          signingKey: testKey(dir, 'k').privateKey,
          access: { mirrors: new Map(), insecureRegistries: [], concurrency: 1 },
          lock: 'none',
          progress: silentProgress,
        }),
      'USAGE_UNKNOWN_STACK',
    );
    expect(e.message).toContain('"rekor-v3"');
    expect(e.message).toContain('mine.yaml');
    expect(existsSync(out)).toBe(false);
  });

  it('one bad profile among good ones is enough', async () => {
    await expectCodeAsync(
      () => loadBundleProfiles([profileOfKind('rekor-v2'), profileOfKind('nginx')]),
      'USAGE_UNKNOWN_STACK',
    );
    expect(
      (await loadBundleProfiles([profileOfKind('rekor-v2'), profileOfKind('rekor-v1')])).map((p) => p.kind),
    ).toEqual(['rekor-v2', 'rekor-v1']);
  });
});

describe('when no profile is named', () => {
  it('USAGE_NO_PROFILE', async () => {
    await expectCodeAsync(() => loadBundleProfiles([]), 'USAGE_NO_PROFILE');
  });
});
