/**
 * TLS for an instance: a private CA and a server certificate (ECDSA P-256) with the SANs of the
 * hostname, localhost and 127.0.0.1 — made with @peculiar/x509 over node's WebCrypto, so the
 * offline host needs no openssl.
 */
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  GeneralName,
  GeneralSubtree,
  GeneralSubtrees,
  NameConstraints,
  id_ce_nameConstraints,
} from '@peculiar/asn1-x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface TlsMaterial {
  caCertPem: string;
  caKeyPem: string;
  certPem: string;
  keyPem: string;
}

export function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

export async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

/** Certificates live 825 days; the CA no longer than the certificate it was made for. */
export const TLS_LIFETIME_DAYS = 825;

/**
 * The CA may only vouch for the instance's own names: DNS subtrees for the hostname and
 * localhost, the IP addresses as /32 (or /128). A stolen CA key cannot mint a certificate for any
 * other name a client would accept.
 */
export function nameConstraintsExtension(names: Array<{ type: 'dns' | 'ip'; value: string }>): x509.Extension {
  const permitted = names.map(
    (n) =>
      new GeneralSubtree({
        base: new GeneralName(
          n.type === 'dns' ? { dNSName: n.value } : { iPAddress: `${n.value}/${isIP(n.value) === 4 ? 32 : 128}` },
        ),
      }),
  );
  const value = AsnConvert.serialize(new NameConstraints({ permittedSubtrees: new GeneralSubtrees(permitted) }));
  return new x509.Extension(id_ce_nameConstraints, true, value);
}

export function sanNames(hostname: string): Array<{ type: 'dns' | 'ip'; value: string }> {
  const names = new Map<string, 'dns' | 'ip'>();
  for (const n of [hostname, 'localhost', '127.0.0.1']) names.set(n, isIP(n) ? 'ip' : 'dns');
  return [...names.entries()].map(([value, type]) => ({ type, value }));
}

export async function generateTls(hostname: string, instance: string, now = new Date()): Promise<TlsMaterial> {
  const subtle = webcrypto.subtle as unknown as SubtleCrypto;
  const notBefore = new Date(now.getTime() - 5 * 60_000);
  const notAfter = new Date(now.getTime() + TLS_LIFETIME_DAYS * 86_400_000);
  const caKeys = (await subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=rekor-airgap CA for ${instance}`,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      nameConstraintsExtension(sanNames(hostname)),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const keys = (await subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${hostname}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(sanNames(hostname)),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    caCertPem: ca.toString('pem') + '\n',
    caKeyPem: await pkcs8Pem(caKeys.privateKey),
    certPem: cert.toString('pem') + '\n',
    keyPem: await pkcs8Pem(keys.privateKey),
  };
}
