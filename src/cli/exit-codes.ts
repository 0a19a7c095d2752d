import { ExitCode } from '../errors.js';

const MEANING: Record<keyof typeof ExitCode, string> = {
  OK: 'success',
  INTERNAL: 'internal error (a bug)',
  USAGE: 'bad usage, options, profile or key',
  VERIFICATION_FAILED: 'bundle or media verification failed (signature, digest, size, unsafe entry)',
  MEDIA_INCOMPLETE: 'media incomplete (missing or truncated chunk)',
  REGISTRY: 'registry error (unreachable, refused credentials, not found, digest or lock drift)',
  ENGINE: 'Docker engine or compose error',
  PREFLIGHT: 'preflight check failed',
  INSTALL: 'install failed (services not healthy; what it started was removed)',
  DISK_FULL: 'no space left on the device being written (the bundle stays unsigned; rerun to resume)',
  SMOKE_UNREACHABLE: 'smoke: log unreachable or its TLS certificate not trusted by the given CA',
  SMOKE_REJECTED: 'smoke: the log rejected the entry, or a read-only log took a write',
  SMOKE_PROOF_INVALID: 'smoke: an inclusion or consistency proof is invalid',
  SMOKE_SIGNATURE_INVALID: 'smoke: a checkpoint, entry timestamp or log ID does not verify with the log key',
  LOG_FORK: 'fork: the log served a checkpoint that is smaller than, or not consistent with, one it signed before',
  BACKUP: 'backup or restore failed (archive corrupt, wrong passphrase, refused restore, hook failed)',
  UPGRADE_ROLLED_BACK: 'upgrade failed and was rolled back (previous images, configuration and data are running again)',
  WITNESS_QUORUM: "fewer witnesses than the policy's quorum cosigned the log's checkpoint",
  MONITOR_ALERT:
    'monitor: an alert was raised (fork, rollback, stalled log, stale witness, lost quorum, a watched key or digest signed an entry)',
  INTERRUPTED: 'interrupted',
};

export function exitCodesTable(): Array<{ code: number; name: string; meaning: string }> {
  return (Object.keys(ExitCode) as Array<keyof typeof ExitCode>).map((k) => ({
    code: ExitCode[k],
    name: k,
    meaning: MEANING[k],
  }));
}

export function exitCodesEpilogue(): string {
  return (
    'Exit codes:\n' +
    exitCodesTable()
      .map((e) => `  ${String(e.code).padStart(3)}  ${e.meaning}`)
      .join('\n')
  );
}
