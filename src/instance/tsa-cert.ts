/**
 * The timestamp authority's certificates: a root made for this instance and a leaf with the
 * critical timeStamping extended key usage (RFC 3161 2.3), ECDSA P-256. The root's key signs the
 * leaf and is then thrown away; the leaf's key is the TSA's signer. Long-lived on purpose: a
 * timestamp is checked against the chain as it was when it was made.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { pkcs8Pem, serial } from './tls.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
export const TSA_LIFETIME_DAYS = 3650;

export interface TsaMaterial {
  /** Leaf first, then the root (what timestamp-server's --certificate-chain-path takes). */
  chainPem: string;
  rootPem: string;
  leafPem: string;
  leafKeyPem: string;
}

export async function generateTsaMaterial(instance: string, now = new Date()): Promise<TsaMaterial> {
  const subtle = webcrypto.subtle as unknown as SubtleCrypto;
  const notBefore = new Date(now.getTime() - 5 * 60_000);
  const notAfter = new Date(now.getTime() + TSA_LIFETIME_DAYS * 86_400_000);
  const rootKeys = (await subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `O=rekor-airgap, CN=rekor-airgap TSA root for ${instance}`,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    keys: rootKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const keys = (await subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `O=rekor-airgap, CN=rekor-airgap TSA for ${instance}`,
    issuer: root.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: rootKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.timeStamping], true),
      await x509.AuthorityKeyIdentifierExtension.create(root, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const leafKeyPem = await pkcs8Pem(keys.privateKey);
  const leafPem = leaf.toString('pem') + '\n';
  const rootPem = root.toString('pem') + '\n';
  return { chainPem: leafPem + rootPem, rootPem, leafPem, leafKeyPem };
}
