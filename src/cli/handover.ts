import { backupUnitName, monitorUnitName } from '../instance/schedule-files.js';
import { instancePaths } from '../instance/layout.js';
import type { InstanceState } from '../instance/state.js';
import { stackFor } from '../stacks/registry.js';
import { witnessPolicyLine } from '../stacks/witness.js';

export function handoverJson(s: InstanceState) {
  const p = instancePaths(s.dataDir);
  const stack = stackFor(s.kind);
  if (stack.serves === 'witness')
    return {
      instance: s.instance,
      profile: s.profile,
      url: s.url,
      caCert: p.caCert,
      witnessName: s.stack.witnessName ?? s.origin,
      witnessVkey: s.stack.witnessVkey ?? '',
      policyLine: witnessPolicyLine(s),
      witnessLogs: p.witnessLogs,
      dataDir: s.dataDir,
      project: s.project,
    };
  return {
    instance: s.instance,
    profile: s.profile,
    url: s.url,
    caCert: p.caCert,
    logPublicKey: p.logPublicKey,
    logPublicKeyPem: s.logPublicKeyPem,
    origin: s.origin,
    logKeyId: s.logKeyId,
    dataDir: s.dataDir,
    project: s.project,
    trustedRoot: p.trustedRoot,
    signingConfig: p.signingConfig,
    ...s.stack,
    export: `export AEVUM_REKOR_URL=${s.url}`,
  };
}

/** What a developer's host needs to sign into this log and verify offline (cosign v3 flags). */
export function clientGuide(
  s: InstanceState,
  f: { trustedRoot: string; signingConfig: string; caCert: string },
): string {
  return [
    'On a client host (copy the three files there):',
    `  export SSL_CERT_FILE=${f.caCert}      # TLS to the log: this CA, and only this one`,
    `  export AEVUM_REKOR_URL=${s.url}`,
    `  cosign sign-blob --key cosign.key --signing-config ${f.signingConfig} --trusted-root ${f.trustedRoot} --bundle blob.sigstore.json --yes BLOB`,
    `  cosign verify-blob --key cosign.pub --trusted-root ${f.trustedRoot} --bundle blob.sigstore.json BLOB`,
  ].join('\n');
}

/** A witness's hand-over: how logs reach it, the key they trust, the policy line, how to register a log. */
function witnessHandoverText(s: InstanceState): string {
  const p = instancePaths(s.dataDir);
  return [
    `  URL:            ${s.url}  (tlog-witness: POST /add-checkpoint)`,
    `  CA certificate: ${p.caCert}  (logs trust this, and only this, for the witness)`,
    ...stackFor(s.kind)
      .handover(s)
      .map(([label, value]) => `  ${`${label}:`.padEnd(16)}${value}`),
    `  register a log: rekor-airgap witness add-log --instance ${s.instance} --origin ORIGIN --vkey LOG_VKEY [--url URL]`,
    `  backup:         ${p.scripts}/backup.sh --out FILE.tar   (a restore never rolls the witness back unless --force-rollback)`,
    '',
    "Put this line in each log's witness policy:",
    witnessPolicyLine(s),
  ].join('\n');
}

export function handoverText(s: InstanceState): string {
  if (stackFor(s.kind).serves === 'witness') return witnessHandoverText(s);
  const p = instancePaths(s.dataDir);
  return [
    `  URL:            ${s.url}`,
    `  CA certificate: ${p.caCert}  (clients trust this, and only this, for the log)`,
    `  log public key: ${p.logPublicKey}`,
    `  origin:         ${s.origin}`,
    `  log key ID:     ${s.logKeyId}`,
    `  client trust:   ${p.trustedRoot}, ${p.signingConfig}, ${p.trustCa}`,
    ...stackFor(s.kind)
      .handover(s)
      .map(([label, value]) => `  ${`${label}:`.padEnd(16)}${value}`),
    `  backup:         ${p.scripts}/backup.sh --out FILE.tar   (restore: ${p.scripts}/restore.sh FILE.tar)`,
    '',
    clientGuide(s, { trustedRoot: p.trustedRoot, signingConfig: p.signingConfig, caCert: p.trustCa }).replace(
      /^/gm,
      '  ',
    ),
    `  daily backups:  put a passphrase in ${p.backupPassphrase} (0600, keep a copy off this host), then`,
    `                  cp ${p.config}/${backupUnitName(s.instance)}.{service,timer} /etc/systemd/system/ && systemctl enable --now ${backupUnitName(s.instance)}.timer`,
    `                  (or: cp ${p.config}/${backupUnitName(s.instance)}.cron /etc/cron.d/${backupUnitName(s.instance)})`,
    `  monitor:        cp ${p.config}/${monitorUnitName(s.instance)}.{service,timer} /etc/systemd/system/ && systemctl enable --now ${monitorUnitName(s.instance)}.timer`,
    `                  (or: cp ${p.config}/${monitorUnitName(s.instance)}.cron /etc/cron.d/${monitorUnitName(s.instance)}); every 5 minutes, exit 18 on an alert`,
    '',
    `export AEVUM_REKOR_URL=${s.url}`,
  ].join('\n');
}
