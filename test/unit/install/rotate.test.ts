/** log rotate refuses what cannot be a rotation before it changes anything, each with its code. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../../src/engine/engine.js';
import { rotateLog, type RotateOptions } from '../../../src/install/rotate.js';
import { readState } from '../../../src/instance/state.js';
import { canonicalJson } from '../../../src/util/canonical-json.js';
import { expectCodeAsync } from '../../helpers/expect-code.js';
import { tempDir } from '../../helpers/fixtures.js';

const sha = 'a'.repeat(64);
const quiet = { step: () => undefined, warn: () => undefined } as unknown as RotateOptions['progress'];

function writeInstance(root: string, name: string, extra: Record<string, unknown> = {}): string {
  const dataDir = path.join(root, name);
  mkdirSync(dataDir, { recursive: true });
  const state = {
    instance: name,
    profile: 'rekor-v2',
    kind: 'rekor-v2',
    project: `rekor-airgap-${name}`,
    dataDir,
    hostname: `${name}.site`,
    origin: `${name}.site`,
    httpsPort: 3443,
    bindAddress: '0.0.0.0',
    url: `https://${name}.site:3443`,
    checkpointInterval: '2s',
    stack: {},
    logPublicKeyPem: 'PEM',
    logKeyId: sha,
    bundle: { createdAt: 'x', manifestSha256: sha, release: 2 },
    highestRelease: 2,
    images: {},
    installedAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...extra,
  };
  writeFileSync(path.join(dataDir, 'state.json'), canonicalJson(state));
  return dataDir;
}

function options(root: string, o: Partial<RotateOptions> = {}): RotateOptions {
  return {
    engine: {} as Engine,
    instance: 'old',
    dataDir: path.join(root, 'old'),
    newInstance: 'next',
    newDataDir: path.join(root, 'next'),
    hostname: 'next.site',
    port: 4443,
    trust: [],
    timeoutSec: 10,
    skipChecks: [],
    progress: quiet,
    ...o,
  };
}

describe('log rotate, refused before anything changes', () => {
  it('a Rekor v1 log: out of scope, a usage error naming it', async () => {
    const root = tempDir();
    writeInstance(root, 'old', { kind: 'rekor-v1', profile: 'rekor-v1' });
    const e = await expectCodeAsync(() => rotateLog(options(root)), 'ROTATE_UNSUPPORTED_STACK');
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/Rekor v2 logs only/);
    expect((await readState(path.join(root, 'old')))?.rotation).toBeUndefined();
  });

  it("the old shard's origin again, an existing instance as target, the same instance twice", async () => {
    const root = tempDir();
    writeInstance(root, 'old');
    await expectCodeAsync(() => rotateLog(options(root, { hostname: 'old.site' })), 'ROTATE_SAME_ORIGIN');
    writeInstance(root, 'next');
    await expectCodeAsync(() => rotateLog(options(root)), 'ROTATE_TARGET_EXISTS');
    await expectCodeAsync(() => rotateLog(options(root, { newInstance: 'old' })), 'USAGE_INVALID');
    expect((await readState(path.join(root, 'old')))?.rotation).toBeUndefined();
  });

  it('without a bundle: the journal is kept and names the target; another target is then refused', async () => {
    const root = tempDir();
    writeInstance(root, 'old');
    const e = await expectCodeAsync(() => rotateLog(options(root)), 'ROTATE_BUNDLE_NEEDED');
    expect(e.message).toMatch(/run the same command again to resume/);
    expect((await readState(path.join(root, 'old')))?.rotation?.to).toBe('next');
    await expectCodeAsync(() => rotateLog(options(root, { newInstance: 'other' })), 'ROTATE_IN_PROGRESS');
  });

  it('a shard rotated already: rotate its successor instead', async () => {
    const root = tempDir();
    writeInstance(root, 'old', {
      readOnlySince: '2026-02-01T00:00:00.000Z',
      rotatedTo: {
        instance: 'next',
        url: 'https://next.site:4443',
        origin: 'next.site',
        logPublicKeyPem: 'PEM',
        logKeyId: sha,
        validFrom: '2026-02-01T00:00:00.000Z',
      },
    });
    const e = await expectCodeAsync(() => rotateLog(options(root, { newInstance: 'third' })), 'ROTATE_ALREADY_ROTATED');
    expect(e.message).toMatch(/rotate next/);
  });
});
