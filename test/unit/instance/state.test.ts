/** state.json is read through the untrusted-JSON reader: typed fields, coded faults, the legacy shapes kept. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseState, readState } from '../../../src/instance/state.js';
import { DEFAULT_SERVING_LIMITS } from '../../../src/instance/serving-limits.js';
import { expectCode, expectCodeAsync } from '../../helpers/expect-code.js';
import { tempDir } from '../../helpers/fixtures.js';

const sha = 'a'.repeat(64);
const STATE = {
  instance: 'default',
  profile: 'rekor-v2',
  kind: 'rekor-v2',
  project: 'rekor-airgap-default',
  dataDir: '/var/lib/rekor-airgap/default',
  hostname: 'log.example',
  origin: 'log.example',
  httpsPort: 443,
  bindAddress: '0.0.0.0',
  url: 'https://log.example',
  checkpointInterval: '2s',
  limits: {
    writeRate: 50,
    writeBurst: 100,
    maxConnectionsPerClient: 128,
    maxBodyBytes: 2097152,
    proxyReadTimeoutSec: 90,
  },
  stack: {},
  logPublicKeyPem: 'PEM',
  logKeyId: sha,
  bundle: { createdAt: 'x', manifestSha256: sha, release: 2 },
  highestRelease: 2,
  images: { rekor: { ref: 'registry.test/rekor:v1', configDigest: `sha256:${sha}` } },
  installedAt: 'x',
  updatedAt: 'x',
};
const src = { what: 'state.json', code: 'BACKUP_ARCHIVE_CORRUPT' } as const;

describe('state.json', () => {
  it('reads a state, and one written before kind, stack, release, the checkpoint interval and the limits existed', () => {
    expect(parseState(JSON.stringify(STATE), src)).toEqual(STATE);
    const { kind: _k, stack: _s, highestRelease: _h, checkpointInterval: _c, limits: _l, ...old } = STATE;
    const legacy = parseState(
      JSON.stringify({ ...old, smoke: 'rekor-v1', treeId: '123', bundle: { createdAt: 'x', manifestSha256: sha } }),
      src,
    );
    expect([
      legacy.kind,
      legacy.stack,
      legacy.highestRelease,
      legacy.bundle.release,
      legacy.checkpointInterval,
      legacy.limits,
    ]).toEqual(['rekor-v1', { treeId: '123' }, 0, 0, '2s', DEFAULT_SERVING_LIMITS]);
  });

  it("a missing or mistyped field is the caller's code, naming it (it was a TypeError later on)", () => {
    const { images: _i, ...noImages } = STATE;
    expect(expectCode(() => parseState(JSON.stringify(noImages), src), 'BACKUP_ARCHIVE_CORRUPT').message).toMatch(
      /images is not an object/,
    );
    expectCode(() => parseState(JSON.stringify({ ...STATE, images: { rekor: null } }), src), 'BACKUP_ARCHIVE_CORRUPT');
    expectCode(() => parseState(JSON.stringify({ ...STATE, httpsPort: '443' }), src), 'BACKUP_ARCHIVE_CORRUPT');
    expectCode(
      () => parseState(JSON.stringify({ ...STATE, limits: { ...STATE.limits, writeRate: '10r/s; evil' } }), src),
      'BACKUP_ARCHIVE_CORRUPT',
    );
    expectCode(
      () => parseState(JSON.stringify({ ...STATE, limits: { ...STATE.limits, writeRate: 0 } }), src),
      'BACKUP_ARCHIVE_CORRUPT',
    );
    expectCode(() => parseState(JSON.stringify({ ...STATE, hostname: 'a\nb' }), src), 'BACKUP_ARCHIVE_CORRUPT');
    expectCode(
      () => parseState(JSON.stringify({ ...STATE, stack: { treeId: 'x\n  image: evil' } }), src),
      'BACKUP_ARCHIVE_CORRUPT',
    );
    expectCode(() => parseState(`{"a":${'['.repeat(1000)}`, src), 'BACKUP_ARCHIVE_CORRUPT');
    // "__proto__" is a key like any other.
    const proto = parseState(JSON.stringify(STATE).replace('"rekor":', '"__proto__":'), src);
    expect(Object.keys(proto.images)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(proto.images)).toBe(Object.prototype);
  });

  it('readState: none is undefined; a corrupt one is INSTALL_STATE_CORRUPT, or the code asked for', async () => {
    const dir = tempDir();
    expect(await readState(dir)).toBeUndefined();
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'state.json'), JSON.stringify({ ...STATE, images: 3 }));
    await expectCodeAsync(() => readState(dir), 'INSTALL_STATE_CORRUPT');
    await expectCodeAsync(() => readState(dir, 'BACKUP_ARCHIVE_CORRUPT'), 'BACKUP_ARCHIVE_CORRUPT');
    writeFileSync(path.join(dir, 'state.json'), JSON.stringify(STATE));
    expect((await readState(dir))?.images.rekor?.ref).toBe('registry.test/rekor:v1');
  });
});
