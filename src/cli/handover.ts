import { instancePaths } from '../instance/layout.js';
import type { InstanceState } from '../instance/state.js';
import { stackFor } from '../stacks/registry.js';

export function handoverJson(s: InstanceState) {
  const p = instancePaths(s.dataDir);
  return {
    instance: s.instance, profile: s.profile, url: s.url, caCert: p.caCert, logPublicKey: p.logPublicKey,
    logPublicKeyPem: s.logPublicKeyPem, origin: s.origin, logKeyId: s.logKeyId, dataDir: s.dataDir, project: s.project,
    ...s.stack,
    export: `export AEVUM_REKOR_URL=${s.url}`,
  };
}

export function handoverText(s: InstanceState): string {
  const p = instancePaths(s.dataDir);
  return [
    `  URL:            ${s.url}`,
    `  CA certificate: ${p.caCert}  (clients trust this, and only this, for the log)`,
    `  log public key: ${p.logPublicKey}`,
    `  origin:         ${s.origin}`,
    `  log key ID:     ${s.logKeyId}`,
    ...stackFor(s.kind).handover(s).map(([label, value]) => `  ${`${label}:`.padEnd(16)}${value}`),
    `  backup:         ${p.scripts}/backup.sh OUT.tar.gz`,
    '',
    `export AEVUM_REKOR_URL=${s.url}`,
  ].join('\n');
}
