import { ExitCode } from '../errors.js';

const MEANING: Record<keyof typeof ExitCode, string> = {
  OK: 'success',
  INTERNAL: 'internal error (a bug: please report it)',
  USAGE: 'bad usage, options, profile or key',
  VERIFICATION_FAILED: 'bundle or media verification failed (signature, digest, size, unsafe entry)',
  MEDIA_INCOMPLETE: 'media incomplete (missing chunk or file)',
  REGISTRY: 'registry error (unreachable, refused credentials, not found, lock drift)',
  ENGINE: 'Docker engine or compose error',
  PREFLIGHT: 'preflight check failed',
  INSTALL: 'install failed (services did not become healthy, ...)',
  DISK_FULL: 'no space left on the device being written',
  SMOKE_UNREACHABLE: 'smoke: log unreachable or TLS not trusted',
  SMOKE_REJECTED: 'smoke: the log rejected the entry',
  SMOKE_PROOF_INVALID: 'smoke: an inclusion or consistency proof is invalid',
  SMOKE_SIGNATURE_INVALID: 'smoke: a checkpoint or entry signature is invalid',
  INTERRUPTED: 'interrupted',
};

export function exitCodesTable(): Array<{ code: number; name: string; meaning: string }> {
  return (Object.keys(ExitCode) as Array<keyof typeof ExitCode>).map((k) => ({ code: ExitCode[k], name: k, meaning: MEANING[k] }));
}

export function exitCodesEpilogue(): string {
  return 'Exit codes:\n' + exitCodesTable().map((e) => `  ${String(e.code).padStart(3)}  ${e.meaning}`).join('\n');
}
