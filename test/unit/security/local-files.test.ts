/**
 * Files the operator points at — lock files, Docker's config.json — are read like every small file
 * (a regular file, a size cap, nesting capped), and a fault in one surfaces as a coded error naming
 * it: "missing" is the only thing taken as absent.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLock, parseLock, readLock } from '../../../src/bundle/lock.js';
import { ExitCode, exitCodeFor } from '../../../src/errors.js';
import { credentialFor, parseDockerConfig } from '../../../src/registry/credentials.js';
import { expectCode, expectCodeAsync } from '../../helpers/expect-code.js';
import { tempDir } from '../../helpers/fixtures.js';
import { fc, jsonValue, mutatedJson, onlyCoded, params } from '../../helpers/fuzz.js';

const sha = (c: string) => `sha256:${c.repeat(64)}`;
const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const isRoot = process.getuid?.() === 0;

describe('lock files: only a missing one is "no lock"', () => {
  const good = JSON.stringify({ profile: 'rekor-v2', images: { 'ghcr.io/a/b:v1': { digest: sha('a') } } });

  it('a missing lock file is none; a good one reads', async () => {
    const dir = tempDir('lock-');
    expect(await readLock(path.join(dir, 'absent.lock.json'))).toBeUndefined();
    writeFileSync(path.join(dir, 'p.lock.json'), good);
    const lock = (await readLock(path.join(dir, 'p.lock.json')))!;
    expect(lock.images['ghcr.io/a/b:v1']).toEqual({ digest: sha('a') });
    checkLock(lock, 'p.lock.json', 'ghcr.io/a/b:v1', sha('a'));
    expectCode(() => checkLock(lock, 'p.lock.json', 'ghcr.io/a/b:v1', sha('b')), 'BUNDLE_LOCK_DRIFT');
    expectCode(() => checkLock(lock, 'p.lock.json', 'constructor', sha('b')), 'BUNDLE_LOCK_DRIFT');
  });

  it('a lock file that is there but cannot be read is PROFILE_LOCK_INVALID naming it (exit 2), not a bundle without the drift check', async () => {
    const dir = tempDir('lock-');
    const cases: Array<[string, () => void]> = [
      ['a directory', () => mkdirSync(path.join(dir, 'a directory'))],
      [
        'a link',
        () => {
          writeFileSync(path.join(dir, 'target'), good);
          symlinkSync(path.join(dir, 'target'), path.join(dir, 'a link'));
        },
      ],
      ['a FIFO', () => execFileSync('mkfifo', [path.join(dir, 'a FIFO')])],
      ['too large', () => writeFileSync(path.join(dir, 'too large'), ' '.repeat(5 * 1024 * 1024))],
      ['not JSON', () => writeFileSync(path.join(dir, 'not JSON'), '{"images":')],
      ['nested too deep', () => writeFileSync(path.join(dir, 'nested too deep'), `{"images":{},"x":${deep(100)}}`)],
      [
        'a pin without a digest',
        () => writeFileSync(path.join(dir, 'a pin without a digest'), '{"images":{"ghcr.io/a/b:v1":{"digest":5}}}'),
      ],
      ['no images', () => writeFileSync(path.join(dir, 'no images'), '{"profile":"p"}')],
    ];
    for (const [name, make] of cases) {
      make();
      const e = await expectCodeAsync(() => readLock(path.join(dir, name)), 'PROFILE_LOCK_INVALID');
      expect(e.message, name).toContain(path.join(dir, name));
      expect(e.exitCode).toBe(ExitCode.USAGE);
    }
  });

  it('a lock file that cannot be read, for another reason than being absent, is PROFILE_LOCK_INVALID', async () => {
    const dir = tempDir('lock-');
    writeFileSync(path.join(dir, 'p.lock.json'), good);
    // Root reads any mode, so the read error here is its parent being a file (ENOTDIR); a user
    // without the right gets EACCES the same way.
    const e = await expectCodeAsync(
      () => readLock(path.join(dir, 'p.lock.json', 'p.lock.json')),
      'PROFILE_LOCK_INVALID',
    );
    expect(e.message).toMatch(/ENOTDIR/);
    if (!isRoot) {
      chmodSync(path.join(dir, 'p.lock.json'), 0o000);
      expect(
        (await expectCodeAsync(() => readLock(path.join(dir, 'p.lock.json')), 'PROFILE_LOCK_INVALID')).message,
      ).toMatch(/EACCES/);
    }
  });

  it('any text as a lock file: a lock or PROFILE_LOCK_INVALID (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          jsonValue.map((v) => JSON.stringify(v)),
          mutatedJson(JSON.parse(good)),
        ),
        (t) => onlyCoded(() => parseLock(t, 'p.lock.json'), ['PROFILE_LOCK_INVALID']),
      ),
      params(),
    );
  });
});

describe("Docker's config.json: no file is anonymous access, a broken one is an error naming it", () => {
  const auth = (u: string, p: string) => Buffer.from(`${u}:${p}`).toString('base64');

  it('no config file: anonymous; a good one: its credentials', () => {
    const dir = tempDir('docker-');
    expect(credentialFor('harbor.site', path.join(dir, 'config.json'))).toBeUndefined();
    writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        auths: { 'harbor.site': { auth: auth('alice', 's3:cret') }, other: {} },
        credsStore: 'desktop',
      }),
    );
    expect(credentialFor('harbor.site', path.join(dir, 'config.json'))).toMatchObject({
      username: 'alice',
      password: 's3:cret',
    });
    expect(credentialFor('other', path.join(dir, 'config.json'))).toBeUndefined();
    expect(credentialFor('elsewhere', path.join(dir, 'config.json'))).toBeUndefined();
  });

  it("a config.json reached through a link (a dotfile manager's) is followed: it is the operator's own file", () => {
    const dir = tempDir('docker-');
    writeFileSync(
      path.join(dir, 'real.json'),
      JSON.stringify({ auths: { 'harbor.site': { username: 'bob', password: 'pw' } } }),
    );
    symlinkSync(path.join(dir, 'real.json'), path.join(dir, 'config.json'));
    expect(credentialFor('harbor.site', path.join(dir, 'config.json'))).toMatchObject({
      username: 'bob',
      password: 'pw',
    });
  });

  it.each([
    ['not JSON', '{"auths": {'],
    ['auths not an object', '{"auths": ["harbor.site"]}'],
    ['an entry not an object', '{"auths": {"harbor.site": "alice:pw"}}'],
    ['a password not a string', '{"auths": {"harbor.site": {"username": "alice", "password": 5}}}'],
    [
      'auth not base64 of user:password',
      `{"auths": {"harbor.site": {"auth": "${Buffer.from('alice').toString('base64')}"}}}`,
    ],
    ['auth not base64 at all', '{"auths": {"harbor.site": {"auth": "%%%%"}}}'],
    ['nested too deep', `{"auths": {}, "x": ${deep(100)}}`],
    ['too large', `{"auths": {}, "x": "${'a'.repeat(5 * 1024 * 1024)}"}`],
  ])('%s: REGISTRY_CREDENTIALS_INVALID naming the file (exit 2), never anonymous access', (_what, text) => {
    const dir = tempDir('docker-');
    const file = path.join(dir, 'config.json');
    writeFileSync(file, text);
    const e = expectCode(() => credentialFor('harbor.site', file), 'REGISTRY_CREDENTIALS_INVALID');
    expect(e.message).toContain(file);
    expect(exitCodeFor('REGISTRY_CREDENTIALS_INVALID')).toBe(ExitCode.USAGE);
  });

  it('a config.json that is a directory or a FIFO is an error, not "no credentials"', () => {
    const dir = tempDir('docker-');
    mkdirSync(path.join(dir, 'a', 'config.json'), { recursive: true });
    expectCode(() => credentialFor('harbor.site', path.join(dir, 'a', 'config.json')), 'REGISTRY_CREDENTIALS_INVALID');
    mkdirSync(path.join(dir, 'b'));
    execFileSync('mkfifo', [path.join(dir, 'b', 'config.json')]);
    expectCode(() => credentialFor('harbor.site', path.join(dir, 'b', 'config.json')), 'REGISTRY_CREDENTIALS_INVALID');
  });

  it('any text as config.json: its logins or REGISTRY_CREDENTIALS_INVALID (property)', () => {
    const valid = {
      auths: { 'harbor.site': { auth: auth('a', 'b') }, 'https://r2': { username: 'u', password: 'p' } },
    };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          jsonValue.map((v) => JSON.stringify(v)),
          mutatedJson(valid),
        ),
        (t) => onlyCoded(() => parseDockerConfig(t, 'config.json'), ['REGISTRY_CREDENTIALS_INVALID']),
      ),
      params(),
    );
  });
});
