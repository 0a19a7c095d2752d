// Signs the rig's stand-in images the way upstream's release workflows do (actions/attest with
// push-to-registry): a SLSA v1 provenance statement in a Sigstore bundle from the rig's test
// Sigstore, stored as an OCI referrer of the image's manifest, plus the referrers tag schema's
// fallback tag (sha256-HEX), since the rig's registries have no Referrers API.
//
//   node sign-images.mjs --state DIR --registry HOST:PORT
//     [--tls-registry HOST:PORT --tls-ca FILE --tls-user USER --tls-password-file FILE]
//     --sign REPO:TAG=IDENTITY ...
//
// Writes DIR/trusted_root.json. A bundle is made once per (digest, identity, CA) and kept in
// DIR/bundles; a stamp per registry and repository skips what is already pushed.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openTestSigstore } from '../helpers/test-sigstore.mjs';

const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const EMPTY = { mediaType: 'application/vnd.oci.empty.v1+json', bytes: Buffer.from('{}') };
const SLSA_V1 = 'https://slsa.dev/provenance/v1';
const ACCEPT = [
  OCI_MANIFEST,
  OCI_INDEX,
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

// Raised when what a fixture signature holds changes (2: the certificate names its source repository).
const FIXTURE_VERSION = '2';
const sha = (/** @type {string | Buffer} */ b) => 'sha256:' + createHash('sha256').update(b).digest('hex');

/**
 * @typedef {{ addr: string, base: string, agent: http.Agent, auth?: string }} Registry
 * @typedef {{ status: number, headers: http.IncomingHttpHeaders, body: Buffer }} Reply
 */

/** One HTTP request to the registry (basic auth when it has credentials). @returns {Promise<Reply>} */
function request(/** @type {Registry} */ reg, /** @type {string} */ method, /** @type {string} */ url, o = {}) {
  const { headers = {}, body } = /** @type {{ headers?: Record<string, string>, body?: Buffer }} */ (o);
  const u = new URL(url, reg.base);
  const h = { ...headers, ...(reg.auth ? { authorization: reg.auth } : {}) };
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method, headers: h, agent: reg.agent }, (res) => {
      const chunks = /** @type {Buffer[]} */ ([]);
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function must(/** @type {Promise<Reply>} */ p, /** @type {string} */ what) {
  const r = await p;
  if (r.status >= 300) throw new Error(`${what}: HTTP ${r.status} ${r.body.toString().slice(0, 300)}`);
  return r;
}

/** The descriptor of REPO:REF (exact media type, digest and size of the top-level manifest). */
async function resolve(/** @type {Registry} */ reg, /** @type {string} */ repo, /** @type {string} */ ref) {
  const r = await must(
    request(reg, 'GET', `/v2/${repo}/manifests/${ref}`, { headers: { accept: ACCEPT } }),
    `${repo}:${ref}`,
  );
  const mediaType = JSON.parse(r.body.toString()).mediaType ?? r.headers['content-type'];
  return { mediaType, digest: sha(r.body), size: r.body.length };
}

async function putBlob(/** @type {Registry} */ reg, /** @type {string} */ repo, /** @type {Buffer} */ bytes) {
  const digest = sha(bytes);
  if ((await request(reg, 'HEAD', `/v2/${repo}/blobs/${digest}`)).status === 200) return digest;
  const start = await must(request(reg, 'POST', `/v2/${repo}/blobs/uploads/`), 'start upload');
  const loc = new URL(String(start.headers.location), reg.base);
  loc.searchParams.set('digest', digest);
  const headers = { 'content-type': 'application/octet-stream' };
  await must(request(reg, 'PUT', loc.href, { headers, body: bytes }), 'upload blob');
  return digest;
}

async function putManifest(
  /** @type {Registry} */ reg,
  /** @type {string} */ repo,
  /** @type {string} */ ref,
  /** @type {any} */ m,
) {
  const body = Buffer.from(JSON.stringify(m));
  await must(
    request(reg, 'PUT', `/v2/${repo}/manifests/${ref}`, { headers: { 'content-type': m.mediaType }, body }),
    `put ${repo}:${ref}`,
  );
  return { mediaType: m.mediaType, digest: sha(body), size: body.length };
}

/** The referrer manifest of BUNDLE (as @sigstore/oci writes it for actions/attest). */
function referrerManifest(/** @type {any} */ subject, /** @type {{ bytes: Buffer, created: string }} */ bundle) {
  return {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: BUNDLE_TYPE,
    config: { mediaType: EMPTY.mediaType, digest: sha(EMPTY.bytes), size: EMPTY.bytes.length },
    layers: [{ mediaType: BUNDLE_TYPE, digest: sha(bundle.bytes), size: bundle.bytes.length }],
    subject,
    annotations: {
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': SLSA_V1,
      'org.opencontainers.image.created': bundle.created,
    },
  };
}

/** The fallback tag's index, listing what it listed plus DESC (artifactType and annotations). */
async function fallbackIndex(
  /** @type {Registry} */ reg,
  /** @type {string} */ repo,
  /** @type {string} */ tag,
  /** @type {any} */ desc,
) {
  const r = await request(reg, 'GET', `/v2/${repo}/manifests/${tag}`, { headers: { accept: OCI_INDEX } });
  const old = r.status === 200 ? (JSON.parse(r.body.toString()).manifests ?? []) : [];
  const manifests = [...old.filter((/** @type {any} */ m) => m.digest !== desc.digest), desc];
  return { schemaVersion: 2, mediaType: OCI_INDEX, manifests };
}

/** Pushes the referrer of SUBJECT in REPO and adds it to the fallback tag; returns its digest. */
async function pushReferrer(
  /** @type {Registry} */ reg,
  /** @type {string} */ repo,
  /** @type {any} */ subject,
  /** @type {any} */ bundle,
) {
  await putBlob(reg, repo, EMPTY.bytes);
  await putBlob(reg, repo, bundle.bytes);
  const m = referrerManifest(subject, bundle);
  const desc = {
    ...(await putManifest(reg, repo, sha(JSON.stringify(m)), m)),
    artifactType: BUNDLE_TYPE,
    annotations: m.annotations,
  };
  const tag = subject.digest.replace(':', '-');
  await putManifest(reg, repo, tag, await fallbackIndex(reg, repo, tag, desc));
  return desc.digest;
}

/** A predicate shaped like GitHub's (actions/attest-build-provenance) for a workflow identity. */
function provenance(/** @type {string} */ identity) {
  const m = /^https:\/\/github\.com\/([^/]+\/[^/]+)\/(.+)@(refs\/.+)$/.exec(identity);
  if (!m) throw new Error(`not a GitHub workflow identity: ${identity}`);
  const [, repo, workflowPath, ref] = m;
  const repository = `https://github.com/${repo}`;
  return {
    buildDefinition: {
      buildType: 'https://actions.github.io/buildtypes/workflow/v1',
      externalParameters: { workflow: { ref, repository, path: workflowPath } },
      internalParameters: { github: { event_name: 'push', runner_environment: 'github-hosted' } },
      resolvedDependencies: [
        { uri: `git+${repository}@${ref}`, digest: { gitCommit: createHash('sha1').update(identity).digest('hex') } },
      ],
    },
    runDetails: {
      builder: { id: identity },
      metadata: { invocationId: `${repository}/actions/runs/1/attempts/1` },
    },
  };
}

/** The bundle for (DIGEST, IDENTITY), made once and kept in DIR/bundles. */
async function bundleFor(/** @type {any} */ ctx, /** @type {{ repo: string, digest: string, identity: string }} */ s) {
  const key = sha([FIXTURE_VERSION, s.digest, s.identity, ctx.sigstore.caFingerprint].join('\n')).slice(7, 31);
  const file = path.join(ctx.state, 'bundles', `${key}.json`);
  if (!fs.existsSync(file)) {
    const bundle = await ctx.sigstore.signStatement({
      identity: s.identity,
      subjects: [{ name: `ghcr.io/${s.repo}`, digest: s.digest }],
      predicateType: SLSA_V1,
      predicate: provenance(s.identity),
    });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(bundle));
    fs.renameSync(`${file}.tmp`, file);
  }
  const bytes = fs.readFileSync(file);
  const t = JSON.parse(bytes.toString()).verificationMaterial.tlogEntries[0].integratedTime;
  return { bytes, created: new Date(Number(t) * 1000).toISOString() };
}

/** Signs REPO:TAG in REG as IDENTITY, unless its stamp says done and the fallback tag agrees. */
async function signIn(/** @type {any} */ ctx, /** @type {Registry} */ reg, /** @type {string} */ spec) {
  const [, repo, tag, identity] = /** @type {string[]} */ (/^([^:=]+):([^=]+)=(.+)$/.exec(spec) ?? []);
  if (!repo) throw new Error(`--sign wants REPO:TAG=IDENTITY, got ${spec}`);
  const subject = await resolve(reg, repo, tag);
  const id = [FIXTURE_VERSION, reg.addr, repo, subject.digest, identity, ctx.sigstore.caFingerprint].join('\n');
  const stamp = path.join(ctx.state, 'stamps', sha(id).slice(7, 31));
  const done = fs.existsSync(stamp) ? fs.readFileSync(stamp, 'utf8').trim() : '';
  const fallback = subject.digest.replace(':', '-');
  const listed = await request(reg, 'GET', `/v2/${repo}/manifests/${fallback}`, { headers: { accept: OCI_INDEX } });
  if (done && listed.status === 200 && listed.body.toString().includes(done)) return;
  const digest = await pushReferrer(
    reg,
    repo,
    subject,
    await bundleFor(ctx, { repo, digest: subject.digest, identity }),
  );
  fs.mkdirSync(path.dirname(stamp), { recursive: true });
  fs.writeFileSync(stamp, digest + '\n');
  console.log(`signed ${reg.addr}/${repo}@${subject.digest} as ${identity}: ${digest}`);
}

function registries(/** @type {Record<string, any>} */ v) {
  /** @type {Registry[]} */
  const regs = [{ addr: v.registry, base: `http://${v.registry}`, agent: new http.Agent() }];
  if (v['tls-registry']) {
    const pw = fs.readFileSync(v['tls-password-file'], 'utf8').trim();
    regs.push({
      addr: v['tls-registry'],
      base: `https://${v['tls-registry']}`,
      agent: new https.Agent({ ca: fs.readFileSync(v['tls-ca']) }),
      auth: 'Basic ' + Buffer.from(`${v['tls-user']}:${pw}`).toString('base64'),
    });
  }
  return regs;
}

const { values } = parseArgs({
  options: {
    state: { type: 'string' },
    registry: { type: 'string' },
    'tls-registry': { type: 'string' },
    'tls-ca': { type: 'string' },
    'tls-user': { type: 'string' },
    'tls-password-file': { type: 'string' },
    sign: { type: 'string', multiple: true, default: [] },
  },
});
if (!values.state || !values.registry) throw new Error('usage: sign-images.mjs --state DIR --registry HOST:PORT ...');
const ctx = { state: values.state, sigstore: await openTestSigstore(values.state) };
for (const reg of registries(values)) for (const spec of values.sign ?? []) await signIn(ctx, reg, spec);
ctx.sigstore.writeTrustedRoot(path.join(values.state, 'trusted_root.json'));
