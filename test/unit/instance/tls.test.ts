/**
 * Hardening 11: the CA an install makes may only vouch for the instance's names (name
 * constraints, checked by openssl), lives no longer than the server certificate, and its key is
 * not kept unless asked.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { instancePaths } from '../../../src/instance/layout.js';
import { ensureTls } from '../../../src/instance/secrets.js';
import { generateTls, TLS_LIFETIME_DAYS } from '../../../src/instance/tls.js';
import { tempDir } from '../../helpers/fixtures.js';

describe('the instance CA', () => {
  it('carries critical name constraints for the instance names; openssl accepts its server certificate and refuses one for another name', async () => {
    const dir = tempDir('tls-');
    const t = await generateTls('rekor.site.internal', 'site');
    const f = (n: string, c: string) => {
      writeFileSync(path.join(dir, n), c);
      return path.join(dir, n);
    };
    const ca = f('ca.pem', t.caCertPem);
    const srv = f('srv.pem', t.certPem);
    const caKey = f('ca.key', t.caKeyPem);
    const text = execFileSync('openssl', ['x509', '-in', ca, '-noout', '-text'], { encoding: 'utf8' });
    expect(text).toMatch(
      /X509v3 Name Constraints: critical\s+Permitted:\s+DNS:rekor\.site\.internal\s+DNS:localhost\s+IP:127\.0\.0\.1\/255\.255\.255\.255/,
    );
    expect(execFileSync('openssl', ['verify', '-CAfile', ca, srv], { encoding: 'utf8' })).toContain('OK');
    // Someone holding the CA key mints a certificate for a name outside the instance.
    const evilKey = path.join(dir, 'evil.key');
    const csr = path.join(dir, 'evil.csr');
    execFileSync(
      'openssl',
      [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        '/CN=bank.example',
        '-keyout',
        evilKey,
        '-out',
        csr,
      ],
      { stdio: 'pipe' },
    );
    const ext = f('evil.ext', 'subjectAltName=DNS:bank.example\n');
    const evil = path.join(dir, 'evil.pem');
    execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        ca,
        '-CAkey',
        caKey,
        '-CAcreateserial',
        '-days',
        '1',
        '-extfile',
        ext,
        '-out',
        evil,
      ],
      { stdio: 'pipe' },
    );
    const r = spawnSync('openssl', ['verify', '-CAfile', ca, evil], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/permitted subtree violation/);
  });

  it('lives no longer than the server certificate it was made for', async () => {
    const now = new Date('2026-06-01T00:00:00Z');
    const t = await generateTls('rekor.site.internal', 'site', now);
    const dir = tempDir('tls-');
    writeFileSync(path.join(dir, 'ca.pem'), t.caCertPem);
    writeFileSync(path.join(dir, 'srv.pem'), t.certPem);
    const end = (f: string) =>
      new Date(
        execFileSync('openssl', ['x509', '-in', path.join(dir, f), '-noout', '-enddate'], { encoding: 'utf8' })
          .trim()
          .replace('notAfter=', ''),
      );
    expect(end('ca.pem').getTime()).toBeLessThanOrEqual(end('srv.pem').getTime());
    expect(Math.round((end('ca.pem').getTime() - now.getTime()) / 86_400_000)).toBe(TLS_LIFETIME_DAYS);
  });

  it('its private key is not kept on the host unless --keep-ca-key', async () => {
    const gone = instancePaths(tempDir('inst-'));
    await ensureTls(gone, { hostname: 'h.internal', instance: 'a' });
    expect(existsSync(gone.caCert)).toBe(true);
    expect(existsSync(gone.caKey)).toBe(false);
    const kept = instancePaths(tempDir('inst-'));
    await ensureTls(kept, { hostname: 'h.internal', instance: 'a', keepCaKey: true });
    expect(existsSync(kept.caKey)).toBe(true);
  });
});
