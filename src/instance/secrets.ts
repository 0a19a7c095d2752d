/**
 * Secrets of an instance, made once and kept across reruns and upgrades: the log signing key
 * (Ed25519 PKCS#8 for rekor-tiles, encrypted ECDSA P-256 for Rekor v1), random passwords, TLS.
 * Files are 0600 and owned by the container user that reads them; nothing is printed.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { AirgapError } from '../errors.js';
import { exists, writeFileAtomic } from '../util/atomic-file.js';
import type { InstancePaths } from './layout.js';

export async function writeSecret(file: string, data: string, uid?: number): Promise<void> {
  await writeFileAtomic(file, data, 0o600);
  await fsp.chmod(file, 0o600);
  if (uid !== undefined) await fsp.chown(file, uid, uid);
}

async function ensurePassword(file: string): Promise<string> {
  if (await exists(file)) return (await fsp.readFile(file, 'utf8')).trim();
  const pw = randomBytes(24).toString('base64url');
  await writeSecret(file, pw);
  return pw;
}

export interface LogKey {
  publicKey: KeyObject;
  publicPem: string;
  created: boolean;
}

/** rekor-tiles: Ed25519, PKCS#8 PEM, readable by the nonroot container user. */
export async function ensureEd25519LogKey(p: InstancePaths, uid: number): Promise<LogKey> {
  if (await exists(p.logSigner)) {
    const key = createPrivateKey(await fsp.readFile(p.logSigner));
    const publicKey = createPublicKey(key);
    return { publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), created: false };
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await writeSecret(p.logSigner, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), uid);
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  await writeFileAtomic(p.logPublicKey, publicPem);
  return { publicKey, publicPem, created: true };
}

/** The timestamp authority's signer key (0600, the container user's) and chain, made once. */
export async function ensureTsaMaterial(p: InstancePaths, instance: string, uid: number): Promise<void> {
  if ((await exists(p.tsaSigner)) && (await exists(p.tsaChain))) return;
  const { generateTsaMaterial } = await import('./tsa-cert.js');
  const m = await generateTsaMaterial(instance);
  await fsp.mkdir(p.tsa, { recursive: true, mode: 0o755 });
  await writeSecret(p.tsaSigner, m.leafKeyPem, uid);
  await writeFileAtomic(p.tsaChain, m.chainPem, 0o644);
}

/** Rekor v1: ECDSA P-256, PKCS#8 encrypted with a random password kept beside it. */
export async function ensureEcdsaLogKey(p: InstancePaths, uid: number): Promise<LogKey & { password: string }> {
  const password = await ensurePassword(p.signerPassword);
  if (await exists(p.logSigner)) {
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: await fsp.readFile(p.logSigner), passphrase: password });
    } catch (e) {
      throw new AirgapError(
        'INSTALL_KEY_UNREADABLE',
        `cannot decrypt the log signing key ${p.logSigner} with ${p.signerPassword}`,
        { cause: e },
      );
    }
    const publicKey = createPublicKey(key);
    return {
      publicKey,
      publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      created: false,
      password,
    };
  }
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await writeSecret(
    p.logSigner,
    privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: password }).toString(),
    uid,
  );
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  await writeFileAtomic(p.logPublicKey, publicPem);
  return { publicKey, publicPem, created: true, password };
}

export async function ensureDbPasswords(p: InstancePaths): Promise<{ root: string; user: string }> {
  // The MariaDB entrypoint runs as root before dropping privileges; 0600 root is enough.
  return { root: await ensurePassword(p.dbRootPassword), user: await ensurePassword(p.dbPassword) };
}

export interface TlsOptions {
  hostname: string;
  instance: string;
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  /** Keep the generated CA's private key (to issue more certificates later); by default it is discarded. */
  keepCaKey?: boolean;
}

/** A generated CA and server certificate, kept on rerun; or the operator's, copied in. */
export async function ensureTls(p: InstancePaths, o: TlsOptions): Promise<{ generated: boolean }> {
  await fsp.mkdir(p.tls, { recursive: true, mode: 0o755 });
  if (o.certFile || o.keyFile) {
    if (!o.certFile || !o.keyFile) throw new AirgapError('USAGE_TLS_PAIR', 'pass both --tls-cert and --tls-key');
    const read = async (f: string, what: string) =>
      fsp.readFile(f, 'utf8').catch((e: Error) => {
        throw new AirgapError('USAGE_TLS_UNREADABLE', `cannot read ${what} ${f}: ${e.message}`);
      });
    await writeFileAtomic(p.serverCert, await read(o.certFile, '--tls-cert'), 0o644);
    await writeSecret(p.serverKey, await read(o.keyFile, '--tls-key'));
    await writeFileAtomic(p.caCert, await read(o.caFile ?? o.certFile, '--tls-ca'), 0o644);
    return { generated: false };
  }
  if ((await exists(p.serverCert)) && (await exists(p.serverKey)) && (await exists(p.caCert)))
    return { generated: false };
  // Loaded when needed: the X.509 library is heavy, and most commands never make a certificate.
  const { generateTls } = await import('./tls.js');
  const t = await generateTls(o.hostname, o.instance);
  // The CA signs this one certificate; without its key on the host, a break-in cannot mint more.
  if (o.keepCaKey) await writeSecret(p.caKey, t.caKeyPem);
  await writeFileAtomic(p.caCert, t.caCertPem, 0o644);
  await writeFileAtomic(p.serverCert, t.certPem, 0o644);
  await writeSecret(p.serverKey, t.keyPem);
  return { generated: true };
}
