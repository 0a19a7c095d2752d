// A test Sigstore: a Fulcio-like CA whose certificates carry SCTs from a CT log, and a Rekor v1-like
// transparency log, with persistent P-256 keys (PEM files, mode 0600) so the trusted root is the
// same on every run. It signs in-toto statements the way GitHub's actions/attest does (a DSSE
// envelope, a short-lived certificate for the workflow identity, one Rekor "dsse" 0.0.1 entry with
// SET and inclusion proof) and writes the trusted root that verifies them.
// The CT log and the transparency log are @sigstore/mock's; the CA is built here, so its root
// certificate (stored next to its key) stays the same across runs.
import 'reflect-metadata';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, webcrypto } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { initializeCTLog, initializeTLog } from '@sigstore/mock';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
/** Every key of the test Sigstore is valid from here (the CA's notBefore). */
export const VALID_FROM = new Date('2025-01-01T00:00:00Z');
const VALID_TO = new Date('2045-01-01T00:00:00Z');
export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
export const REKOR_URL = 'https://rekor.rig.test';
const FULCIO_URL = 'https://fulcio.rig.test';
const CTFE_URL = 'https://ctfe.rig.test';
const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const OID_SOURCE_REPOSITORY = '1.3.6.1.4.1.57264.1.12';
const OID_SCT_LIST = '1.3.6.1.4.1.11129.2.4.2';
const DSSE_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const subtle = /** @type {SubtleCrypto} */ (/** @type {unknown} */ (webcrypto.subtle));

const sha256 = (/** @type {string | Uint8Array} */ b) => createHash('sha256').update(b).digest();
const b64 = (/** @type {Uint8Array} */ b) => Buffer.from(b).toString('base64');

/** A DER TLV with a definite length (short or long form). */
function der(/** @type {number} */ tag, /** @type {Uint8Array} */ body) {
  const n = body.length;
  const len = n < 128 ? [n] : n < 256 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
}

/** The PEM key at FILE, made (P-256, mode 0600) when missing. */
function loadOrMakeKey(/** @type {string} */ file) {
  if (!fs.existsSync(file)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    fs.writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  fs.chmodSync(file, 0o600);
  const privateKey = createPrivateKey(fs.readFileSync(file));
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** @param {import('node:crypto').KeyObject} key */
const spki = (key) => /** @type {Buffer} */ (key.export({ type: 'spki', format: 'der' }));

/** The CA's self-signed root, made once and kept in FILE. */
async function loadOrMakeRoot(/** @type {string} */ file, /** @type {CryptoKeyPair} */ keys) {
  if (!fs.existsSync(file)) {
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'O=rekor-airgap rig, CN=rekor-airgap rig test Fulcio',
      notBefore: VALID_FROM,
      notAfter: VALID_TO,
      signingAlgorithm: ALG,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 1, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    fs.writeFileSync(file, root.toString('pem') + '\n', { mode: 0o600 });
  }
  fs.chmodSync(file, 0o600);
  return new x509.X509Certificate(fs.readFileSync(file, 'utf8'));
}

/** @param {{ privateKey: import('node:crypto').KeyObject, publicKey: import('node:crypto').KeyObject }} k */
async function toCryptoKeys(k) {
  const der = /** @type {Buffer} */ (k.privateKey.export({ type: 'pkcs8', format: 'der' }));
  return /** @type {CryptoKeyPair} */ ({
    privateKey: await subtle.importKey('pkcs8', der, ALG, true, ['sign']),
    publicKey: await subtle.importKey('spki', spki(k.publicKey), ALG, true, ['verify']),
  });
}

/** A transparency-log or CT-log entry of the trusted root. */
function logEntry(/** @type {string} */ baseUrl, /** @type {Buffer} */ key) {
  return {
    baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: {
      rawBytes: b64(key),
      keyDetails: 'PKIX_ECDSA_P256_SHA_256',
      validFor: { start: VALID_FROM.toISOString() },
    },
    logId: { keyId: b64(sha256(key)) },
  };
}

function makeTrustedRoot(/** @type {x509.X509Certificate} */ root, /** @type {Buffer} */ ct, /** @type {Buffer} */ tl) {
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [logEntry(REKOR_URL, tl)],
    certificateAuthorities: [
      {
        subject: { organization: 'rekor-airgap rig', commonName: 'rekor-airgap rig test Fulcio' },
        uri: FULCIO_URL,
        certChain: { certificates: [{ rawBytes: b64(new Uint8Array(root.rawData)) }] },
        validFor: { start: VALID_FROM.toISOString() },
      },
    ],
    ctlogs: [logEntry(CTFE_URL, ct)],
    timestampAuthorities: [],
  };
}

/** The repository a GitHub workflow identity runs in (https://github.com/OWNER/REPO). */
function repositoryOf(/** @type {string} */ identity) {
  return /^(https:\/\/github\.com\/[^/]+\/[^/]+)\/\.github\/workflows\//.exec(identity)?.[1];
}

/** The extensions of a Fulcio certificate for a GitHub Actions workflow identity. */
async function leafExtensions(
  /** @type {{ identity: string, issuer: string, sourceRepository?: string, leafKey: CryptoKey, ca: CryptoKeyPair }} */ o,
) {
  const repo = o.sourceRepository ?? repositoryOf(o.identity);
  return [
    ...(repo ? [new x509.Extension(OID_SOURCE_REPOSITORY, false, der(0x0c, Buffer.from(repo)))] : []),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]),
    new x509.SubjectAlternativeNameExtension([{ type: 'url', value: o.identity }], true),
    await x509.SubjectKeyIdentifierExtension.create(o.leafKey),
    await x509.AuthorityKeyIdentifierExtension.create(o.ca.publicKey),
    new x509.Extension(OID_ISSUER_V1, false, Buffer.from(o.issuer)),
    new x509.Extension(OID_ISSUER_V2, false, der(0x0c, Buffer.from(o.issuer))),
  ];
}

/** Issues the leaf certificate; with a CT log, first logs the precertificate and embeds the SCT. */
async function issueLeaf(/** @type {any} */ o) {
  const tbs = {
    serialNumber: createHash('sha1')
      .update(webcrypto.getRandomValues(new Uint8Array(16)))
      .digest('hex'),
    issuer: o.root.subject,
    notBefore: o.notBefore,
    notAfter: o.notAfter,
    signingAlgorithm: ALG,
    publicKey: o.leafKey,
    signingKey: o.ca.privateKey,
    extensions: await leafExtensions(o),
  };
  if (o.ctLog) {
    const pre = await x509.X509CertificateGenerator.create(tbs);
    const sct = Buffer.from(await o.ctLog.log(pre.rawData, sha256(spki(o.caPublic))));
    const list = Buffer.concat([Buffer.from([sct.length >> 8, sct.length & 0xff]), sct]);
    tbs.extensions.push(new x509.Extension(OID_SCT_LIST, false, der(0x04, list)));
  }
  return Buffer.from((await x509.X509CertificateGenerator.create(tbs)).rawData);
}

/** DSSE pre-authentication encoding. */
function pae(/** @type {string} */ type, /** @type {Buffer} */ body) {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${body.length} `), body]);
}

/** Logs the envelope as Rekor v1 stores a "dsse" 0.0.1 entry; returns the bundle's tlog entry. */
async function logDsse(
  /** @type {any} */ tlog,
  /** @type {{ payload: Buffer, sig: Buffer, certPem: string, envelope: object }} */ o,
) {
  const body = {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(JSON.stringify(o.envelope)).toString('hex') },
      payloadHash: { algorithm: 'sha256', value: sha256(o.payload).toString('hex') },
      signatures: [{ signature: b64(o.sig), verifier: b64(Buffer.from(o.certPem)) }],
    },
  };
  const [e] = Object.values(await tlog.log(body));
  const p = e.verification.inclusionProof;
  return {
    logIndex: String(e.logIndex),
    logId: { keyId: b64(Buffer.from(e.logID, 'hex')) },
    kindVersion: { kind: 'dsse', version: '0.0.1' },
    integratedTime: String(e.integratedTime),
    inclusionPromise: { signedEntryTimestamp: e.verification.signedEntryTimestamp },
    inclusionProof: {
      logIndex: String(p.logIndex),
      rootHash: b64(Buffer.from(p.rootHash, 'hex')),
      treeSize: String(p.treeSize),
      hashes: p.hashes,
      checkpoint: { envelope: p.checkpoint },
    },
    canonicalizedBody: e.body,
  };
}

/** @param {{ subjects: { name: string, digest: string }[], predicateType: string, predicate: unknown }} o */
function statement(o) {
  const subject = o.subjects.map(({ name, digest }) => {
    const [alg, hex] = digest.split(':');
    return { name, digest: { [/** @type {string} */ (alg)]: hex } };
  });
  const s = {
    _type: 'https://in-toto.io/Statement/v1',
    subject,
    predicateType: o.predicateType,
    predicate: o.predicate,
  };
  return Buffer.from(JSON.stringify(s));
}

/**
 * Creates (or loads) the test Sigstore kept in STATEDIR.
 * @param {string} stateDir
 */
export async function openTestSigstore(stateDir) {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const caKeys = loadOrMakeKey(path.join(stateDir, 'ca.key.pem'));
  const ctKeys = loadOrMakeKey(path.join(stateDir, 'ctlog.key.pem'));
  const tlKeys = loadOrMakeKey(path.join(stateDir, 'tlog.key.pem'));
  const ca = await toCryptoKeys(caKeys);
  const root = await loadOrMakeRoot(path.join(stateDir, 'ca.crt.pem'), ca);
  const trustedRoot = makeTrustedRoot(root, spki(ctKeys.publicKey), spki(tlKeys.publicKey));

  /** @param {import('./test-sigstore.d.mts').SignOptions} o */
  async function signStatement(o) {
    const signingTime = o.signingTime ?? new Date();
    const issuer = o.issuer ?? GITHUB_ISSUER;
    const notBefore = o.certificateNotBefore ?? new Date(Math.floor(signingTime.getTime() / 1000) * 1000 - 60_000);
    const notAfter = o.certificateNotAfter ?? new Date(notBefore.getTime() + 11 * 60_000);
    const leaf = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const leafKey = await subtle.importKey('spki', spki(leaf.publicKey), ALG, true, ['verify']);
    const ctLog = o.omitSCT ? undefined : await initializeCTLog(ctKeys, signingTime);
    const certDer = await issueLeaf({
      ...o,
      issuer,
      notBefore,
      notAfter,
      leafKey,
      ca,
      root,
      caPublic: caKeys.publicKey,
      ctLog,
    });
    const certPem = new x509.X509Certificate(certDer).toString('pem') + '\n';

    const payload = statement(o);
    const sig = sign('sha256', pae(DSSE_PAYLOAD_TYPE, payload), leaf.privateKey);
    const envelope = { payload: b64(payload), payloadType: DSSE_PAYLOAD_TYPE, signatures: [{ sig: b64(sig) }] };
    const tlog = await initializeTLog(REKOR_URL, tlKeys, signingTime);
    const entry = await logDsse(tlog, { payload, sig, certPem, envelope });
    return {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: {
        certificate: { rawBytes: b64(certDer) },
        tlogEntries: [entry],
        timestampVerificationData: {},
      },
      dsseEnvelope: envelope,
    };
  }

  return {
    trustedRoot,
    /** SHA-256 of the CA root certificate (DER), hex: names what this Sigstore signed. */
    caFingerprint: sha256(new Uint8Array(root.rawData)).toString('hex'),
    writeTrustedRoot: (/** @type {string} */ file) =>
      fs.writeFileSync(file, JSON.stringify(trustedRoot, null, 2) + '\n'),
    signStatement,
  };
}
