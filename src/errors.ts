/**
 * Coded errors. Callers and tests branch on `code`, never on message text. Codes are
 * SCREAMING_SNAKE with a domain prefix and are never renamed; each maps to a documented exit code.
 */

export const ExitCode = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  VERIFICATION_FAILED: 3,
  MEDIA_INCOMPLETE: 4,
  REGISTRY: 5,
  ENGINE: 6,
  PREFLIGHT: 7,
  INSTALL: 8,
  DISK_FULL: 9,
  SMOKE_UNREACHABLE: 10,
  SMOKE_REJECTED: 11,
  SMOKE_PROOF_INVALID: 12,
  SMOKE_SIGNATURE_INVALID: 13,
  INTERRUPTED: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Exit code of each error-code prefix; the longest matching prefix wins. */
const EXIT_BY_PREFIX: ReadonlyArray<readonly [string, ExitCodeValue]> = [
  ['USAGE_', ExitCode.USAGE],
  ['PROFILE_', ExitCode.USAGE],
  ['KEY_', ExitCode.USAGE],
  ['REF_', ExitCode.USAGE],
  ['REGISTRY_', ExitCode.REGISTRY],
  ['ARTIFACT_', ExitCode.REGISTRY],
  ['OCI_', ExitCode.VERIFICATION_FAILED],
  ['BUNDLE_', ExitCode.VERIFICATION_FAILED],
  ['BUNDLE_LOCK_DRIFT', ExitCode.REGISTRY],
  ['BUNDLE_WRITE_', ExitCode.DISK_FULL],
  ['MEDIA_WRITE_DISK_FULL', ExitCode.DISK_FULL],
  ['SIGNATURE_', ExitCode.VERIFICATION_FAILED],
  ['MEDIA_', ExitCode.VERIFICATION_FAILED],
  ['MEDIA_INCOMPLETE', ExitCode.MEDIA_INCOMPLETE],
  ['ENGINE_', ExitCode.ENGINE],
  ['COMPOSE_', ExitCode.ENGINE],
  ['PREFLIGHT_', ExitCode.PREFLIGHT],
  ['INSTALL_', ExitCode.INSTALL],
  ['SMOKE_UNREACHABLE', ExitCode.SMOKE_UNREACHABLE],
  ['SMOKE_TLS', ExitCode.SMOKE_UNREACHABLE],
  ['SMOKE_REJECTED', ExitCode.SMOKE_REJECTED],
  ['SMOKE_PROOF', ExitCode.SMOKE_PROOF_INVALID],
  ['MERKLE_', ExitCode.SMOKE_PROOF_INVALID],
  ['SMOKE_SIGNATURE', ExitCode.SMOKE_SIGNATURE_INVALID],
  ['NOTE_', ExitCode.SMOKE_SIGNATURE_INVALID],
  ['SMOKE_', ExitCode.SMOKE_PROOF_INVALID],
  ['BACKUP_', ExitCode.INSTALL],
  ['INTERRUPTED', ExitCode.INTERRUPTED],
];

export function exitCodeFor(code: string): ExitCodeValue {
  let best: readonly [string, ExitCodeValue] | undefined;
  for (const entry of EXIT_BY_PREFIX) {
    if (code.startsWith(entry[0]) && (!best || entry[0].length > best[0].length)) best = entry;
  }
  return best ? best[1] : ExitCode.INTERNAL;
}

export class AirgapError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AirgapError';
    this.code = code;
    this.details = options.details ?? {};
  }

  get exitCode(): ExitCodeValue {
    return exitCodeFor(this.code);
  }
}

/** Several independent faults found in one pass (a media check reports all at once). */
export class AggregateAirgapError extends AirgapError {
  readonly faults: readonly AirgapError[];

  constructor(code: string, message: string, faults: readonly AirgapError[]) {
    super(code, `${message}\n${faults.map((f) => `  - ${f.message}`).join('\n')}`, {
      details: { faults: faults.map((f) => ({ code: f.code, message: f.message })) },
    });
    this.faults = faults;
  }
}
