/**
 * Witness instances without an engine: the profile and the companion a rekor-v2 bundle carries,
 * the templates rendered, the logs file, the signer key kept, and what the witness's database says
 * it cosigned (read from a database omniwitness wrote: test/fixtures/witness-db/, see its README).
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { loadBundleProfiles } from '../../../src/bundle/create.js';
import { parseProfile } from '../../../src/bundle/profile.js';
import { internalAddressing } from '../../../src/engine/internal-net.js';
import { instancePaths } from '../../../src/instance/layout.js';
import { renderTemplate } from '../../../src/instance/render.js';
import {
  ensureWitnessSigner,
  formatWitnessLogs,
  parseWitnessLogs,
  readWitnessedSizes,
  withWitnessLog,
} from '../../../src/instance/witness-files.js';
import { noteVerifierKey } from '../../../src/tlog/note.js';
import { logStackFor, stackFor } from '../../../src/stacks/registry.js';
import { witnessPolicyLine } from '../../../src/stacks/witness.js';
import { readSqliteTable } from '../../../src/util/sqlite-file.js';
import { parseCosignatureVkey } from '../../../src/witness/cosignature.js';
import { parseWitnessPolicy } from '../../../src/witness/policy.js';
import { ROOT } from '../../helpers/cli.js';
import { expectCode, expectCodeAsync } from '../../helpers/expect-code.js';
import { tempDir } from '../../helpers/fixtures.js';

const FIXTURE = path.join(ROOT, 'test/fixtures/witness-db');

describe('the witness profile', () => {
  it('rekor-v2 carries it: bundle create --profile rekor-v2 loads both, the witness once', async () => {
    const profiles = await loadBundleProfiles(['rekor-v2']);
    expect(profiles.map((p) => p.name)).toEqual(['rekor-v2', 'witness']);
    expect((await loadBundleProfiles(['rekor-v2', 'witness'])).map((p) => p.name)).toEqual(['rekor-v2', 'witness']);
    const w = profiles[1]!;
    expect(w.kind).toBe('witness');
    expect(w.images.map((i) => i.name)).toEqual(['witness', 'nginx']);
    expect(w.images[0]!.ref).toMatch(/^ghcr\.io\/transparency-dev\/witness\/omniwitness:v0\.0\.0-\d{14}-[0-9a-f]{12}$/);
    expect(w.ports.https).toBe(3453);
  });

  it('companions must name other profiles', () => {
    const doc = (c: string) =>
      `name: a\nkind: rekor-v2\nimages: [{name: x, ref: r.example/x:1}]\ntemplates: []\nports: {https: 1}\ncompanions: ${c}\n`;
    expect(parseProfile(doc('[b]'), 'a.yaml').companions).toEqual(['b']);
    expectCode(() => parseProfile(doc('[a]'), 'a.yaml'), 'PROFILE_INVALID');
    expectCode(() => parseProfile(doc('[../b]'), 'a.yaml'), 'PROFILE_INVALID');
    expectCode(() => parseProfile(doc('b'), 'a.yaml'), 'PROFILE_INVALID');
  });

  it('the stack serves a witness: log readers refuse it with a code', () => {
    expect(stackFor('witness').serves).toBe('witness');
    expect(logStackFor('rekor-v2').serves).toBe('log');
    expectCode(() => logStackFor('witness', 'w1'), 'USAGE_NOT_A_LOG');
  });
});

describe('the witness templates', () => {
  const vars = {
    instance: 'w1',
    hostname: 'w1.site.internal',
    publish: '0.0.0.0:3453',
    images: { witness: 'ghcr.io/transparency-dev/witness/omniwitness:v0', nginx: 'docker.io/library/nginx:1.22.1' },
    paths: { ...instancePaths('/var/lib/rekor-airgap/w1') },
    files: { nginx_conf: '/var/lib/rekor-airgap/w1/config/nginx.conf' },
    internal: { ...internalAddressing('172.30.7.0/26', ['witness'], 'docker') },
  };
  const read = (n: string) => readFileSync(path.join(ROOT, 'templates/witness', n), 'utf8');

  it('compose: omniwitness on the internal network only, its database on the instance volume, the key read-only, no metrics, no outbound', () => {
    const doc = yaml.load(renderTemplate(read('compose.yaml'), vars, 'witness/compose.yaml')) as {
      networks: Record<string, { internal?: boolean }>;
      services: Record<
        string,
        { command?: string[]; volumes: string[]; networks: unknown; ports?: string[]; user?: string }
      >;
    };
    const w = doc.services.witness!;
    expect(doc.networks.backend!.internal).toBe(true);
    expect(Object.keys(w.networks as object)).toEqual(['backend']);
    expect(w.ports).toBeUndefined();
    expect(w.user).toBe('65532:65532');
    expect(w.volumes).toEqual([
      '/var/lib/rekor-airgap/w1/witness:/var/lib/witness',
      '/var/lib/rekor-airgap/w1/secrets/witness.key:/etc/witness/witness.key:ro',
      '/var/lib/rekor-airgap/w1/config/witness-logs.yaml:/etc/witness/logs.yaml:ro',
    ]);
    expect(w.command).toContain('--metrics_listen=');
    expect(w.command).toContain('--db_file=/var/lib/witness/witness.db');
    for (const f of ['bastion', 'rest_distro', 'public_witness_config'])
      expect(w.command!.some((c) => c.includes(f))).toBe(false);
    expect(doc.services.nginx!.ports).toEqual(['0.0.0.0:3453:8443']);
  });

  it('nginx: TLS, only POST /add-checkpoint passed on, rate limits, /healthz answered by nginx', () => {
    const conf = renderTemplate(read('nginx.conf'), vars, 'witness/nginx.conf');
    expect(conf).toContain('listen 8443 ssl;');
    expect(conf).toContain('server_name w1.site.internal;');
    expect([...conf.matchAll(/proxy_pass (\S+);/g)].map((m) => m[1])).toEqual([
      'http://witness:8080/add-checkpoint',
      'http://witness:8080/add-checkpoint',
    ]);
    expect(conf).toMatch(/location = \/add-checkpoint \{\s*limit_except POST \{ deny all; \}\s*limit_req zone=cosign/);
    expect(conf).toContain('location / { return 404; }');
  });
});

describe('the logs a witness cosigns (witness-logs.yaml)', () => {
  const key = () => {
    const origin = 'rekor.site.internal';
    return {
      origin,
      vkey: noteVerifierKey(origin, generateKeyPairSync('ed25519').publicKey),
      url: 'https://rekor.site.internal:3443',
    };
  };

  it("round-trips in omniwitness's --additional_logs shape", () => {
    const a = key();
    const text = formatWitnessLogs([a]);
    expect(yaml.load(text)).toEqual({ Logs: [{ Origin: a.origin, PublicKey: a.vkey, URL: a.url }] });
    expect(parseWitnessLogs(text, 'f')).toEqual([a]);
    expectCode(() => parseWitnessLogs('Logs: [{PublicKey: 1}]', 'f'), 'WITNESS_LOGS_INVALID');
  });

  it('adding is idempotent; a new URL replaces the old; another key for a known origin is refused', () => {
    const a = key();
    const once = withWitnessLog([], a);
    expect(once.changed).toBe(true);
    expect(withWitnessLog(once.logs, a)).toEqual({ logs: [a], changed: false });
    expect(withWitnessLog(once.logs, { ...a, url: 'https://x.example' }).logs[0]!.url).toBe('https://x.example');
    expectCode(() => withWitnessLog(once.logs, { ...key(), origin: a.origin }), 'WITNESS_LOG_CONFLICT');
    expectCode(() => withWitnessLog([], { ...a, vkey: 'not a key' }), 'USAGE_BAD_LOG_KEY');
    expectCode(() => withWitnessLog([], { ...a, origin: 'two\nlines' }), 'USAGE_INVALID');
  });
});

describe('the witness signer key', () => {
  it('is made once (0600), kept on reruns, and never renamed', async () => {
    const p = instancePaths(tempDir('witness-key-'));
    mkdirSync(p.secrets, { recursive: true });
    const uid = process.getuid?.() ?? 0;
    const first = await ensureWitnessSigner(p, 'w.site.internal', uid);
    expect(first.created).toBe(true);
    expect(statSync(p.witnessKey).mode & 0o777).toBe(0o600);
    expect(readFileSync(p.witnessKey, 'utf8')).toMatch(/^PRIVATE\+KEY\+w\.site\.internal\+[0-9a-f]{8}\+/);
    const again = await ensureWitnessSigner(p, 'w.site.internal', uid);
    expect(again.created).toBe(false);
    expect(again.vkey).toBe(first.vkey);
    expect(parseCosignatureVkey(first.vkey).publicKey.export({ format: 'der', type: 'spki' })).toEqual(
      again.publicKey.export({ format: 'der', type: 'spki' }),
    );
    await expectCodeAsync(() => ensureWitnessSigner(p, 'another.name', uid), 'INSTALL_KEY_CHANGED');
  });

  it('the hand-over line is a policy line', async () => {
    const p = instancePaths(tempDir('witness-key-'));
    mkdirSync(p.secrets, { recursive: true });
    const s = await ensureWitnessSigner(p, 'w.site.internal', process.getuid?.() ?? 0);
    const line = witnessPolicyLine({
      instance: 'w1',
      url: 'https://w.site.internal:3453',
      stack: { witnessVkey: s.vkey },
    } as never);
    const policy = parseWitnessPolicy(`${line}\nquorum w1\n`, 'hand-over');
    expect(policy.witnesses).toHaveLength(1);
    expect(policy.witnesses[0]!.url).toBe('https://w.site.internal:3453');
  });
});

describe("what the witness's database says it cosigned", () => {
  it('reads a database omniwitness wrote, its WAL applied', async () => {
    const dir = tempDir('witness-db-');
    const p = instancePaths(dir);
    mkdirSync(p.witness, { recursive: true });
    for (const f of ['witness.db', 'witness.db-wal'])
      writeFileSync(path.join(p.witness, f), readFileSync(path.join(FIXTURE, f)));
    const sizes = await readWitnessedSizes(dir);
    expect(Object.fromEntries(sizes)).toEqual(JSON.parse(readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8')));
  });

  it('no database yet: nothing cosigned', async () => {
    expect((await readWitnessedSizes(tempDir('witness-db-'))).size).toBe(0);
  });

  it('without its WAL the committed pages in the database file are all there is; damage is a coded error', () => {
    const db = readFileSync(path.join(FIXTURE, 'witness.db'));
    const src = { what: 'witness.db', code: 'WITNESS_DB_UNREADABLE' as const };
    expect(() => readSqliteTable(db, undefined, 'chkpts', src)).not.toThrow();
    expectCode(() => readSqliteTable(Buffer.from('not a database'), undefined, 'chkpts', src), 'WITNESS_DB_UNREADABLE');
    const cut = Buffer.from(db);
    cut.write('SQLite format 2\0', 0, 'latin1');
    expectCode(() => readSqliteTable(cut, undefined, 'chkpts', src), 'WITNESS_DB_UNREADABLE');
    expect(existsSync(path.join(FIXTURE, 'README.md'))).toBe(true);
  });
});
