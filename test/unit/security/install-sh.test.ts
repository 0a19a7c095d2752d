/**
 * Hardening 6: install.sh checks the bundle's own installer with the host's openssl and sha256sum
 * before it runs a byte of it, so --trust is not checked by the code it is meant to check.
 * A stand-in installer records that it ran; the real one is covered end to end (tenant install).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/util/canonical-json.js';
import { signDetached } from '../../../src/bundle/sign-detached.js';
import { createHash } from 'node:crypto';
import { tempDir } from '../../helpers/fixtures.js';
import { testKey } from '../../helpers/synthetic-bundle.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function makeBundle() {
  const dir = tempDir('installsh-');
  const b = path.join(dir, 'bundle');
  mkdirSync(path.join(b, 'installer'), { recursive: true });
  copyFileSync(path.join(ROOT, 'templates/install.sh'), path.join(b, 'install.sh'));
  chmodSync(path.join(b, 'install.sh'), 0o755);
  // The "runtime" records its arguments in a file next to it: proof that it ran, and with what.
  writeFileSync(path.join(b, 'installer/node'), '#!/bin/sh\necho "$@" > "$(dirname "$0")/../ran"\n');
  chmodSync(path.join(b, 'installer/node'), 0o755);
  writeFileSync(path.join(b, 'installer/rekor-airgap.mjs'), 'console.log("installer")\n');
  const key = testKey(dir, 'trusted');
  const other = testKey(dir, 'other');
  const files = ['install.sh', 'installer/node', 'installer/rekor-airgap.mjs'].map((p) => {
    const bytes = readFileSync(path.join(b, p));
    return { path: p, sha256: sha(bytes), size: bytes.length };
  });
  const manifest = canonicalJson({
    formatVersion: 1,
    createdAt: '2026-01-01T00:00:00Z',
    platform: 'linux/amd64',
    profiles: ['rekor-v2'],
    images: [],
    files,
  });
  writeFileSync(path.join(b, 'bundle.json'), manifest);
  writeFileSync(path.join(b, 'bundle.json.sig'), signDetached(Buffer.from(manifest), key.privateKey));
  return { dir, b, key, other };
}

function run(b: string, args: string[], env: Record<string, string> = { PATH: '/usr/bin:/bin' }) {
  const r = spawnSync(path.join(b, 'install.sh'), args, { env, encoding: 'utf8' });
  return {
    status: r.status,
    stderr: r.stderr,
    ran: existsSync(path.join(b, 'ran')) ? readFileSync(path.join(b, 'ran'), 'utf8').trim() : undefined,
  };
}

describe('install.sh checks the installer before running it', () => {
  it('a good bundle: the signature and both hashes hold, and the installer runs with the arguments', () => {
    const { b, key } = makeBundle();
    const r = run(b, ['--trust', key.pubFile, '--instance', 'x']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.ran).toBe(
      `${path.join(b, 'installer/rekor-airgap.mjs')} bundle install ${b} --trust ${key.pubFile} --instance x`,
    );
  });

  it('an altered installer is refused and never runs', () => {
    const { b, key } = makeBundle();
    writeFileSync(path.join(b, 'installer/rekor-airgap.mjs'), 'console.log("evil")\n');
    const r = run(b, ['--trust', key.pubFile]);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('installer/rekor-airgap.mjs does not match the signed bundle.json');
    expect(r.ran).toBeUndefined();
  });

  it('an altered Node runtime is refused before it runs', () => {
    const { b, key } = makeBundle();
    writeFileSync(path.join(b, 'installer/node'), '#!/bin/sh\necho pwned > "$(dirname "$0")/../ran"\n');
    const r = run(b, ['--trust', key.pubFile]);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('installer/node does not match the signed bundle.json');
    expect(r.ran).toBeUndefined();
  });

  it('a bundle.json re-signed by another key (with matching hashes) is refused', () => {
    const { b, key, other } = makeBundle();
    writeFileSync(
      path.join(b, 'bundle.json.sig'),
      signDetached(readFileSync(path.join(b, 'bundle.json')), other.privateKey),
    );
    const r = run(b, [`--trust=${key.pubFile}`]);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('does not verify with the trusted key');
    expect(r.ran).toBeUndefined();
  });

  it('any of several --trust keys may match (rotation)', () => {
    const { b, key, other } = makeBundle();
    const r = run(b, ['--trust', other.pubFile, '--trust', key.pubFile]);
    expect(r.status, r.stderr).toBe(0);
  });

  it('without openssl it stops and says how to verify otherwise; --unverified-installer goes on', () => {
    const { dir, b, key } = makeBundle();
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    for (const t of [
      'sh',
      'sha256sum',
      'base64',
      'grep',
      'sed',
      'head',
      'cut',
      'mktemp',
      'rm',
      'tr',
      'dirname',
      'echo',
    ]) {
      const p = execFileSync('sh', ['-c', `command -v ${t} || true`], { encoding: 'utf8' }).trim();
      if (p.startsWith('/')) symlinkSync(p, path.join(bin, t));
    }
    const r = run(b, ['--trust', key.pubFile], { PATH: bin });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain("'openssl' is not on this host");
    expect(r.stderr).toContain('rekor-airgap bundle verify');
    expect(r.ran).toBeUndefined();
    const forced = run(b, ['--trust', key.pubFile, '--unverified-installer'], { PATH: bin });
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.ran).not.toContain('--unverified-installer');
  });
});
