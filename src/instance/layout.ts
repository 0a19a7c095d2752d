/**
 * Every path of an installed instance, in one place. Templates receive these as `{{ paths.NAME }}`
 * and never spell a path of their own.
 */
import path from 'node:path';
import { AirgapError } from '../errors.js';

export const DEFAULT_DATA_ROOT = '/var/lib/rekor-airgap';

export function instancePaths(dataDir: string) {
  return {
    dataDir,
    state: path.join(dataDir, 'state.json'),
    secrets: path.join(dataDir, 'secrets'),
    logSigner: path.join(dataDir, 'secrets', 'log-signer.pem'),
    logPublicKey: path.join(dataDir, 'log-public.pem'),
    signerPassword: path.join(dataDir, 'secrets', 'log-signer-password'),
    dbRootPassword: path.join(dataDir, 'secrets', 'db-root-password'),
    dbPassword: path.join(dataDir, 'secrets', 'db-password'),
    tls: path.join(dataDir, 'tls'),
    caCert: path.join(dataDir, 'tls', 'ca.crt'),
    caKey: path.join(dataDir, 'secrets', 'ca.key'),
    serverCert: path.join(dataDir, 'tls', 'server.crt'),
    serverKey: path.join(dataDir, 'tls', 'server.key'),
    config: path.join(dataDir, 'config'),
    compose: path.join(dataDir, 'config', 'compose.yaml'),
    nginxConf: path.join(dataDir, 'config', 'nginx.conf'),
    initdb: path.join(dataDir, 'config', 'initdb'),
    log: path.join(dataDir, 'log'),
    db: path.join(dataDir, 'db'),
    scripts: path.join(dataDir, 'scripts'),
    checkpoints: path.join(dataDir, 'checkpoints'),
    tsa: path.join(dataDir, 'tsa'),
    tsaChain: path.join(dataDir, 'tsa', 'chain.pem'),
    tsaSigner: path.join(dataDir, 'secrets', 'tsa-signer.pem'),
    trust: path.join(dataDir, 'trust'),
    trustedRoot: path.join(dataDir, 'trust', 'trusted_root.json'),
    signingConfig: path.join(dataDir, 'trust', 'signing_config.json'),
    trustCa: path.join(dataDir, 'trust', 'ca.crt'),
    templates: path.join(dataDir, 'templates'),
    tool: path.join(dataDir, 'tool'),
    toolNode: path.join(dataDir, 'tool', 'node'),
    toolJs: path.join(dataDir, 'tool', 'rekor-airgap.mjs'),
    backupPassphrase: path.join(dataDir, 'secrets', 'backup-passphrase'),
    // How the instance was made: the install receipt (an in-toto statement), its signature, the
    // install key's public half, and the log entry that records it.
    receipt: path.join(dataDir, 'receipt'),
    receiptStatement: path.join(dataDir, 'receipt', 'install-receipt.json'),
    receiptSignature: path.join(dataDir, 'receipt', 'install-receipt.sig'),
    receiptKey: path.join(dataDir, 'receipt', 'install-key.pub'),
    receiptEntry: path.join(dataDir, 'receipt', 'log-entry.json'),
    // A witness instance: its signer key (omniwitness reads it), its database directory, the logs
    // it cosigns, and the key of the test log its smoke test registers.
    witnessKey: path.join(dataDir, 'secrets', 'witness.key'),
    witness: path.join(dataDir, 'witness'),
    witnessDb: path.join(dataDir, 'witness', 'witness.db'),
    witnessLogs: path.join(dataDir, 'config', 'witness-logs.yaml'),
    witnessSmokeLogKey: path.join(dataDir, 'secrets', 'witness-smoke-log.pem'),
  };
}
export type InstancePaths = ReturnType<typeof instancePaths>;
export type InstancePathName = keyof InstancePaths;

export function validateInstanceName(name: string): void {
  if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(name)) {
    throw new AirgapError(
      'USAGE_BAD_INSTANCE',
      `instance name ${JSON.stringify(name)}: use lowercase letters, digits and dashes (at most 31)`,
    );
  }
}

export function dataDirFor(instance: string, dataDir?: string): string {
  return path.resolve(dataDir ?? path.join(DEFAULT_DATA_ROOT, instance));
}

export function composeProject(instance: string): string {
  return `rekor-airgap-${instance}`;
}
