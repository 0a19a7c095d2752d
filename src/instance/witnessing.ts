/**
 * A log's witnesses, as the instance keeps them: the policy clients enforce (`witness-policy.txt`,
 * the witnesses' own URLs) and the way out to each witness (`witness-egress.json`, one CA file
 * each). The log server lives on an internal network with no route out; its only way to a witness
 * is the instance's nginx, which proxies `POST /add-checkpoint` to exactly the witnesses listed
 * here, checking each one's TLS certificate with the CA given for it. rekor-tiles reads a policy of
 * its own (`witness-policy.rekor.txt`) whose URLs point at those proxies.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirgapError } from '../errors.js';
import { readRegularFile, isMissingFile } from '../util/bounded-read.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { readUntrustedJson } from '../util/untrusted-json.js';
import { formatWitnessPolicy, parseWitnessPolicy, type WitnessPolicy } from '../witness/policy.js';
import type { InstancePaths } from './layout.js';
import type { TemplateVars } from './render.js';

/** How the log's nginx reaches one witness of the policy. */
export interface WitnessEgress {
  /** The witness's name in the policy. */
  name: string;
  /** Its https URL (the policy's); `/add-checkpoint` is appended. */
  url: string;
  /** A witness installed on this host: its hostname resolves to the engine's host. */
  sameHost: boolean;
}

/** Where the nginx of the log listens for rekor-tiles' witness requests (internal networks only). */
export const EGRESS_PORT = 8081;
const MAX_POLICY_BYTES = 64 * 1024;

export function witnessFiles(p: InstancePaths) {
  return {
    policy: path.join(p.config, 'witness-policy.txt'),
    rekorPolicy: path.join(p.config, 'witness-policy.rekor.txt'),
    egress: path.join(p.config, 'witness-egress.json'),
    ca: (i: number) => path.join(p.config, `witness-${i}-ca.pem`),
  };
}

export interface PolicyFileOptions {
  /** Follow a link (a trust directory mounted from a ConfigMap, a file the operator names). */
  followLinks?: boolean;
  maxBytes?: number;
}

/** A witness policy file: a regular file, size-capped, parsed (WITNESS_POLICY_INVALID naming it). */
export async function readWitnessPolicyFile(file: string, o: PolicyFileOptions = {}): Promise<WitnessPolicy> {
  const bytes = await readRegularFile(
    file,
    o.maxBytes ?? MAX_POLICY_BYTES,
    'WITNESS_POLICY_INVALID',
    'witness policy',
    {
      followLinks: o.followLinks === true,
    },
  );
  return parseWitnessPolicy(bytes.toString('utf8'), file);
}

/** The same, or undefined when there is no such file. */
export async function readOptionalWitnessPolicyFile(
  file: string,
  o: PolicyFileOptions = {},
): Promise<WitnessPolicy | undefined> {
  try {
    return await readWitnessPolicyFile(file, o);
  } catch (e) {
    if (isMissingFile(e)) return undefined;
    throw e;
  }
}

/** The policy clients enforce, when the instance has one. */
export function readInstanceWitnessPolicy(p: InstancePaths): Promise<WitnessPolicy | undefined> {
  return readOptionalWitnessPolicyFile(witnessFiles(p).policy);
}

/** A witness URL as it may appear in nginx's configuration: https, a plain host, a port, a plain path. */
export function checkWitnessUrl(name: string, raw: string | undefined): URL {
  if (!raw)
    throw new AirgapError(
      'WITNESS_POLICY_INVALID',
      `witness ${name} has no URL in the policy: the log cannot send it checkpoints`,
    );
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new AirgapError('WITNESS_POLICY_INVALID', `witness ${name}: ${JSON.stringify(raw)} is not a URL`);
  }
  const plain = /^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/;
  if (u.protocol !== 'https:' || !plain.test(u.hostname) || u.username || u.password || u.search || u.hash)
    throw new AirgapError(
      'WITNESS_POLICY_INVALID',
      `witness ${name}: ${JSON.stringify(raw)} must be an https URL with a plain host name (no credentials, query or fragment)`,
    );
  if (!/^[A-Za-z0-9._~/-]*$/.test(u.pathname))
    throw new AirgapError('WITNESS_POLICY_INVALID', `witness ${name}: the path of ${JSON.stringify(raw)} is not plain`);
  return u;
}

export interface WitnessSetup {
  policy: WitnessPolicy;
  egress: WitnessEgress[];
  /** Each egress entry's CA (PEM), same order. */
  caPems: string[];
}

/** Writes the policy, the egress list and the CAs into the instance's configuration. */
export async function writeWitnessSetup(p: InstancePaths, s: WitnessSetup): Promise<void> {
  const f = witnessFiles(p);
  for (const [i, e] of s.egress.entries()) {
    checkWitnessUrl(e.name, e.url);
    await writeFileAtomic(f.ca(i), s.caPems[i] ?? '', 0o644);
  }
  await writeFileAtomic(f.policy, formatWitnessPolicy(s.policy), 0o644);
  await writeFileAtomic(f.egress, JSON.stringify({ witnesses: s.egress }, null, 2) + '\n', 0o644);
}

async function readEgress(p: InstancePaths): Promise<WitnessEgress[]> {
  const file = witnessFiles(p).egress;
  const o = readUntrustedJson(await fsp.readFile(file), { code: 'WITNESS_POLICY_INVALID', what: file });
  return o
    .at('witnesses')
    .list()
    .map((w) => ({ name: w.at('name').string(), url: w.at('url').string(), sameHost: w.at('sameHost').bool() }));
}

/**
 * Template variables of a witnessed log (`witness`), rendered from the kept files; none when the
 * instance has no witnesses. Also writes rekor-tiles' own policy, whose URLs are the proxies.
 */
export async function witnessVars(p: InstancePaths): Promise<TemplateVars | undefined> {
  const policy = await readInstanceWitnessPolicy(p);
  if (!policy) return undefined;
  const egress = await readEgress(p);
  const f = witnessFiles(p);
  const proxied: WitnessPolicy = {
    ...policy,
    witnesses: policy.witnesses.map((w) => {
      const i = egress.findIndex((e) => e.name === w.name);
      if (i < 0)
        throw new AirgapError(
          'WITNESS_POLICY_INVALID',
          `${f.egress} has no way out to witness ${w.name} of ${f.policy}: install again with the witness options`,
        );
      return { ...w, url: `http://nginx:${EGRESS_PORT}/witness/${i}` };
    }),
  };
  await writeFileAtomic(f.rekorPolicy, formatWitnessPolicy(proxied), 0o644);
  const hosts = egress.map((e) => checkWitnessUrl(e.name, e.url));
  return {
    rekor_policy: f.rekorPolicy,
    egress_port: EGRESS_PORT,
    nginx_locations: egress.map((e, i) => nginxLocation(i, hosts[i] as URL)).join('\n'),
    extra_hosts: JSON.stringify(
      [...new Set(egress.filter((e) => e.sameHost).map((e) => new URL(e.url).hostname))].map(
        (h) => `${h}:host-gateway`,
      ),
    ),
    ca_volumes: egress.map((_e, i) => `      - ${f.ca(i)}:/etc/nginx/witness-${i}-ca.pem:ro`).join('\n'),
  };
}

/** One witness's proxy: only its add-checkpoint endpoint, its certificate checked with its CA. */
function nginxLocation(i: number, u: URL): string {
  const target = `${u.protocol}//${u.host}${u.pathname.replace(/\/$/, '')}/add-checkpoint`;
  return [
    `    location = /witness/${i}/add-checkpoint {`,
    `      limit_except POST { deny all; }`,
    `      proxy_pass ${target};`,
    `      proxy_ssl_verify on;`,
    `      proxy_ssl_verify_depth 3;`,
    `      proxy_ssl_trusted_certificate /etc/nginx/witness-${i}-ca.pem;`,
    `      proxy_ssl_server_name on;`,
    `      proxy_ssl_name ${u.hostname};`,
    `      proxy_connect_timeout 5s;`,
    `      proxy_read_timeout 10s;`,
    `    }`,
  ].join('\n');
}
