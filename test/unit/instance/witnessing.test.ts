import { promises as fsp } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { instancePaths } from '../../../src/instance/layout.js';
import { renderTemplate } from '../../../src/instance/render.js';
import {
  checkWitnessUrl,
  readInstanceWitnessPolicy,
  witnessFiles,
  witnessVars,
  writeWitnessSetup,
} from '../../../src/instance/witnessing.js';
import { cosignatureVkey, parseCosignatureVkey } from '../../../src/witness/cosignature.js';
import { parseWitnessPolicy, simplePolicy } from '../../../src/witness/policy.js';
import { tempDir } from '../../helpers/temp-dirs.js';

function witness(name: string, url: string) {
  const { publicKey } = generateKeyPairSync('ed25519');
  return { name, key: parseCosignatureVkey(cosignatureVkey(`${name}.example`, publicKey)), url };
}

async function instanceWith(urls: Array<[string, string, boolean]>) {
  const p = instancePaths(tempDir());
  await fsp.mkdir(p.config, { recursive: true });
  const ws = urls.map(([n, u]) => witness(n, u));
  await writeWitnessSetup(p, {
    policy: simplePolicy(ws, ws.length),
    egress: urls.map(([name, url, sameHost]) => ({ name, url, sameHost })),
    caPems: urls.map(([n]) => `-----BEGIN CERTIFICATE-----\n${n}\n-----END CERTIFICATE-----\n`),
  });
  return p;
}

describe('a log instance with witnesses', () => {
  it('keeps the clients\u2019 policy with the witnesses\u2019 own URLs', async () => {
    const p = await instanceWith([
      ['wa', 'https://wa.site.internal:3453', true],
      ['wb', 'https://wb.other.internal:8443/w', false],
    ]);
    const policy = await readInstanceWitnessPolicy(p);
    expect(policy?.witnesses.map((w) => [w.name, w.url])).toEqual([
      ['wa', 'https://wa.site.internal:3453'],
      ['wb', 'https://wb.other.internal:8443/w'],
    ]);
  });

  it('gives rekor-tiles a policy whose only URLs are the instance nginx proxies', async () => {
    const p = await instanceWith([
      ['wa', 'https://wa.site.internal:3453', true],
      ['wb', 'https://wb.other.internal:8443/w', false],
    ]);
    await witnessVars(p);
    const rekor = parseWitnessPolicy(await fsp.readFile(witnessFiles(p).rekorPolicy, 'utf8'), 'rekor');
    expect(rekor.witnesses.map((w) => w.url)).toEqual(['http://nginx:8081/witness/0', 'http://nginx:8081/witness/1']);
    // Same keys and quorum as the clients' policy.
    const clients = await readInstanceWitnessPolicy(p);
    expect(rekor.witnesses.map((w) => w.key.vkey)).toEqual(clients?.witnesses.map((w) => w.key.vkey));
    expect(rekor.quorum).toBe(clients?.quorum);
  });

  it('renders one nginx proxy per witness, its certificate checked with its own CA, and host names for same-host witnesses', async () => {
    const p = await instanceWith([
      ['wa', 'https://wa.site.internal:3453', true],
      ['wb', 'https://wb.other.internal:8443/w', false],
    ]);
    const vars = await witnessVars(p);
    const conf = renderTemplate(
      '{{# witness }}\nserver {\n{{ witness.nginx_locations }}\n}\n{{/ witness }}\n',
      { witness: vars! },
      'nginx.conf',
    );
    expect(conf).toContain('location = /witness/0/add-checkpoint');
    expect(conf).toContain('proxy_pass https://wa.site.internal:3453/add-checkpoint;');
    expect(conf).toContain('proxy_pass https://wb.other.internal:8443/w/add-checkpoint;');
    expect(conf).toContain('proxy_ssl_verify on;');
    expect(conf).toContain('proxy_ssl_trusted_certificate /etc/nginx/witness-1-ca.pem;');
    expect(conf).toContain('proxy_ssl_name wb.other.internal;');
    expect(JSON.parse(String(vars!.extra_hosts))).toEqual(['wa.site.internal:host-gateway']);
    expect(await fsp.readFile(witnessFiles(p).ca(1), 'utf8')).toContain('wb');
  });

  it('has no witness variables without a policy', async () => {
    const p = instancePaths(tempDir());
    expect(await witnessVars(p)).toBeUndefined();
  });

  it.each([
    ['http://wa.example:3453', 'https'],
    ['https://wa.example:3453/x;proxy_pass http://evil', 'path'],
    ['https://user:pw@wa.example', 'https'],
    ['https://wa.example/?q=1', 'https'],
    ['https://wa.example/a b', 'path'],
    ['https://wa.example}', 'URL'],
    [undefined, 'no URL'],
  ])('refuses witness URL %s before it reaches nginx', (url, what) => {
    expect(() => checkWitnessUrl('wa', url)).toThrow(expect.objectContaining({ code: 'WITNESS_POLICY_INVALID' }));
    expect(() => checkWitnessUrl('wa', url)).toThrow(new RegExp(what === 'URL' ? 'URL|https' : what));
  });
});
