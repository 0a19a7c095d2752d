/**
 * Coded errors. Callers and tests branch on `code`, never on message text. Codes are
 * SCREAMING_SNAKE with a domain prefix and are never renamed. The set is closed: every code is a
 * row of `ERROR_EXIT`, which gives its exit code (the one table; the README's is tested against it).
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
  LOG_FORK: 14,
  BACKUP: 15,
  UPGRADE_ROLLED_BACK: 16,
  WITNESS_QUORUM: 17,
  MONITOR_ALERT: 18,
  INTERRUPTED: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

const E = ExitCode;

/**
 * A row of the table: the exit code, or the exit code with what else the code says. `transient`:
 * the failure may pass on its own (a host unreachable, a 5xx, a connection cut mid-body), so the
 * one retry policy (src/util/retry.ts) tries again; every other code fails at once.
 */
type ErrorRow = ExitCodeValue | { readonly exit: ExitCodeValue; readonly transient: true };

function transient(exit: ExitCodeValue): ErrorRow {
  return { exit, transient: true };
}

/** Every error code and its exit code. A code not in this table does not type-check. */
export const ERROR_EXIT = {
  INTERNAL_BUG: E.INTERNAL,
  MEDIA_INTERNAL: E.INTERNAL,
  SMOKE_INTERNAL: E.INTERNAL,

  USAGE_INVALID: E.USAGE,
  USAGE_BAD_CA: E.USAGE,
  USAGE_BAD_INSTANCE: E.USAGE,
  USAGE_BAD_K8S_NAME: E.USAGE,
  USAGE_BAD_LIMIT: E.USAGE,
  USAGE_BAD_LOG_KEY: E.USAGE,
  USAGE_BAD_MIRROR: E.USAGE,
  USAGE_BAD_ORIGIN: E.USAGE,
  USAGE_BAD_PLATFORM: E.USAGE,
  USAGE_BAD_REGISTRY: E.USAGE,
  USAGE_BAD_SIZE: E.USAGE,
  USAGE_BAD_SOURCE_DATE_EPOCH: E.USAGE,
  USAGE_BAD_TIMEOUT: E.USAGE,
  USAGE_BAD_DURATION: E.USAGE,
  USAGE_BAD_WATCH: E.USAGE,
  MONITOR_STATE_CORRUPT: E.USAGE,
  USAGE_CA_UNREADABLE: E.USAGE,
  USAGE_LOCK_MISSING: E.USAGE,
  USAGE_NODE_RUNTIME_NEEDED: E.USAGE,
  USAGE_NO_PROFILE: E.USAGE,
  USAGE_NO_TRUST: E.USAGE,
  USAGE_OUT_EXISTS: E.USAGE,
  USAGE_OUT_NOT_EMPTY: E.USAGE,
  USAGE_PROFILE_AMBIGUOUS: E.USAGE,
  USAGE_PROFILE_NOT_IN_BUNDLE: E.USAGE,
  USAGE_SMOKE_TARGET: E.USAGE,
  USAGE_TLS_PAIR: E.USAGE,
  USAGE_TLS_UNREADABLE: E.USAGE,
  USAGE_UNREADABLE: E.USAGE,
  USAGE_UNKNOWN_STACK: E.USAGE,
  USAGE_NOT_A_LOG: E.USAGE,
  ROTATE_ALREADY_ROTATED: E.USAGE,
  ROTATE_BUNDLE_NEEDED: E.USAGE,
  ROTATE_IN_PROGRESS: E.USAGE,
  ROTATE_SAME_ORIGIN: E.USAGE,
  ROTATE_TARGET_EXISTS: E.USAGE,
  ROTATE_UNSUPPORTED_STACK: E.USAGE,
  SMOKE_LOG_READ_ONLY: E.USAGE,
  PROFILE_DIR_MISSING: E.USAGE,
  PROFILE_INVALID: E.USAGE,
  PROFILE_LOCK_INVALID: E.USAGE,
  PROFILE_TEMPLATES_MISSING: E.USAGE,
  PROFILE_UNKNOWN: E.USAGE,
  KEY_DECRYPT_FAILED: E.USAGE,
  KEY_EXISTS: E.USAGE,
  KEY_INVALID: E.USAGE,
  KEY_PASSPHRASE_MISSING: E.USAGE,
  KEY_PASSPHRASE_UNREADABLE: E.USAGE,
  KEY_PASSPHRASE_WEAK: E.USAGE,
  KEY_UNREADABLE: E.USAGE,
  KEY_WRONG_TYPE: E.USAGE,
  REF_INVALID: E.USAGE,
  // The operator's own Docker config.json cannot be read or is not one: fixed on this host, not by
  // retrying the registry (so not exit 5).
  REGISTRY_CREDENTIALS_INVALID: E.USAGE,
  MEDIA_RESUME_STATE_INVALID: E.USAGE,
  WITNESS_KEY_INVALID: E.USAGE,
  WITNESS_POLICY_INVALID: E.USAGE,
  WITNESS_LOG_CONFLICT: E.USAGE,

  BUNDLE_FILE_DIGEST_MISMATCH: E.VERIFICATION_FAILED,
  BUNDLE_FILE_MISSING: E.VERIFICATION_FAILED,
  BUNDLE_FILE_SIZE_MISMATCH: E.VERIFICATION_FAILED,
  BUNDLE_FILE_UNLISTED: E.VERIFICATION_FAILED,
  BUNDLE_INCOMPLETE: E.VERIFICATION_FAILED,
  BUNDLE_INSTALLER_MISSING: E.VERIFICATION_FAILED,
  BUNDLE_MANIFEST_INVALID: E.VERIFICATION_FAILED,
  BUNDLE_MANIFEST_MISSING: E.VERIFICATION_FAILED,
  BUNDLE_SIGNATURE_MISSING: E.VERIFICATION_FAILED,
  BUNDLE_UNEXPECTED_ENTRY: E.VERIFICATION_FAILED,
  BUNDLE_VERIFY_FAILED: E.VERIFICATION_FAILED,
  SIGNATURE_INVALID: E.VERIFICATION_FAILED,
  OCI_BAD_DIGEST: E.VERIFICATION_FAILED,
  OCI_DIGEST_MISMATCH: E.VERIFICATION_FAILED,
  OCI_SIZE_MISMATCH: E.VERIFICATION_FAILED,
  MEDIA_CHUNK_DIGEST_MISMATCH: E.VERIFICATION_FAILED,
  MEDIA_CHUNK_EXTRA: E.VERIFICATION_FAILED,
  MEDIA_COPY_READBACK_MISMATCH: E.VERIFICATION_FAILED,
  MEDIA_DUPLICATE_ENTRY: E.VERIFICATION_FAILED,
  MEDIA_FILE_DIGEST_MISMATCH: E.VERIFICATION_FAILED,
  MEDIA_FILE_MISSING: E.VERIFICATION_FAILED,
  MEDIA_INDEX_INVALID: E.VERIFICATION_FAILED,
  MEDIA_MANIFEST_MISMATCH: E.VERIFICATION_FAILED,
  MEDIA_MANIFEST_MISSING: E.VERIFICATION_FAILED,
  MEDIA_PATH_TOO_LONG: E.VERIFICATION_FAILED,
  MEDIA_SIZE_MISMATCH: E.VERIFICATION_FAILED,
  MEDIA_TAR_CORRUPT: E.VERIFICATION_FAILED,
  MEDIA_TAR_TRUNCATED: E.VERIFICATION_FAILED,
  MEDIA_UNLISTED_ENTRY: E.VERIFICATION_FAILED,
  MEDIA_UNSAFE_ENTRY: E.VERIFICATION_FAILED,
  MEDIA_UNSAFE_PATH: E.VERIFICATION_FAILED,
  MEDIA_VERIFY_FAILED: E.VERIFICATION_FAILED,

  MEDIA_INCOMPLETE: E.MEDIA_INCOMPLETE,
  MEDIA_CHUNK_MISSING: E.MEDIA_INCOMPLETE,
  MEDIA_CHUNK_SIZE_MISMATCH: E.MEDIA_INCOMPLETE,
  MEDIA_INDEX_MISSING: E.MEDIA_INCOMPLETE,
  MEDIA_INDEX_SIGNATURE_MISSING: E.MEDIA_INCOMPLETE,

  REGISTRY_AUTH_CHALLENGE: E.REGISTRY,
  REGISTRY_AUTH_FAILED: E.REGISTRY,
  REGISTRY_BAD_MANIFEST: E.REGISTRY,
  REGISTRY_BAD_STATUS: E.REGISTRY,
  REGISTRY_DIGEST_MISMATCH: E.REGISTRY,
  REGISTRY_ENGINE_PULL_FAILED: E.REGISTRY,
  REGISTRY_FORBIDDEN: E.REGISTRY,
  REGISTRY_NOT_FOUND: E.REGISTRY,
  REGISTRY_PLAIN_HTTP_REFUSED: E.REGISTRY,
  REGISTRY_PLATFORM_NOT_FOUND: E.REGISTRY,
  REGISTRY_PROTOCOL_ERROR: E.REGISTRY,
  REGISTRY_REDIRECT_REFUSED: E.REGISTRY,
  REGISTRY_RESPONSE_TOO_LARGE: E.REGISTRY,
  REGISTRY_SERVER_ERROR: transient(E.REGISTRY),
  REGISTRY_STREAM_BROKEN: transient(E.REGISTRY),
  REGISTRY_TLS: E.REGISTRY,
  REGISTRY_TIMEOUT: E.REGISTRY,
  REGISTRY_TOO_MANY_REDIRECTS: E.REGISTRY,
  REGISTRY_UNAUTHORIZED: E.REGISTRY,
  REGISTRY_UNREACHABLE: transient(E.REGISTRY),
  REGISTRY_UNSUPPORTED_MANIFEST: E.REGISTRY,
  BUNDLE_LOCK_DRIFT: E.REGISTRY,
  ARTIFACT_DIGEST_MISMATCH: E.REGISTRY,
  ARTIFACT_NOT_IN_ARCHIVE: E.REGISTRY,
  ARTIFACT_REDIRECT_REFUSED: E.REGISTRY,
  ARTIFACT_TLS: E.REGISTRY,
  ARTIFACT_TIMEOUT: E.REGISTRY,
  ARTIFACT_TOO_MANY_REDIRECTS: E.REGISTRY,
  ARTIFACT_STREAM_BROKEN: transient(E.REGISTRY),
  ARTIFACT_RESPONSE_TOO_LARGE: E.REGISTRY,
  ARTIFACT_UNREACHABLE: transient(E.REGISTRY),
  ARTIFACT_WRONG_PLATFORM: E.REGISTRY,
  ARTIFACT_ZIP_INVALID: E.REGISTRY,

  ENGINE_IMAGE_MISMATCH: E.ENGINE,
  ENGINE_LOAD_FAILED: E.ENGINE,
  ENGINE_SAVE_INVALID: E.ENGINE,
  ENGINE_UNREACHABLE: transient(E.ENGINE),
  COMPOSE_FAILED: E.ENGINE,

  PREFLIGHT_FAILED: E.PREFLIGHT,
  PREFLIGHT_ENGINE: E.PREFLIGHT,
  PREFLIGHT_COMPOSE: E.PREFLIGHT,
  PREFLIGHT_COMPOSE_MISSING: E.PREFLIGHT,
  PREFLIGHT_DISK: E.PREFLIGHT,
  PREFLIGHT_PORTS: E.PREFLIGHT,
  PREFLIGHT_MEMORY: E.PREFLIGHT,
  PREFLIGHT_CLOCK: E.PREFLIGHT,
  PREFLIGHT_NO_SUBNET: E.PREFLIGHT,

  INSTALL_DOWNGRADE_REFUSED: E.INSTALL,
  INSTALL_KEY_CHANGED: E.INSTALL,
  INSTALL_KEY_UNREADABLE: E.INSTALL,
  INSTALL_NO_INSTANCE: E.INSTALL,
  INSTALL_ORIGIN_CHANGE: E.INSTALL,
  INSTALL_PROFILE_MISMATCH: E.INSTALL,
  INSTALL_SERVICE_FAILED: E.INSTALL,
  INSTALL_STATE_CORRUPT: E.INSTALL,
  INSTALL_TEMPLATE_VARIABLE: E.INSTALL,
  INSTALL_TIMEOUT: E.INSTALL,
  INSTALL_TREE_FAILED: E.INSTALL,
  WITNESS_LOGS_INVALID: E.INSTALL,
  ROTATE_BUNDLE_OLDER: E.INSTALL,
  ROTATE_READ_ONLY_FAILED: E.INSTALL,

  BUNDLE_WRITE_DISK_FULL: E.DISK_FULL,
  MEDIA_WRITE_DISK_FULL: E.DISK_FULL,

  SMOKE_UNREACHABLE: transient(E.SMOKE_UNREACHABLE),
  SMOKE_TLS: E.SMOKE_UNREACHABLE,
  SMOKE_TOO_MANY_REDIRECTS: E.SMOKE_UNREACHABLE,
  SMOKE_REDIRECT_REFUSED: E.SMOKE_UNREACHABLE,
  SMOKE_TIMEOUT: E.SMOKE_UNREACHABLE,
  SMOKE_ANSWER_TOO_LARGE: E.SMOKE_UNREACHABLE,
  SMOKE_STREAM_BROKEN: transient(E.SMOKE_UNREACHABLE),
  SMOKE_READ_FAILED: E.SMOKE_UNREACHABLE,
  SMOKE_REJECTED: E.SMOKE_REJECTED,
  SMOKE_LOG_WRITABLE: E.SMOKE_REJECTED,
  SMOKE_BAD_RESPONSE: E.SMOKE_PROOF_INVALID,
  SMOKE_RESPONSE_TOO_LARGE: E.SMOKE_PROOF_INVALID,
  SMOKE_BODY_MISMATCH: E.SMOKE_PROOF_INVALID,
  SMOKE_PROOF_CHECKPOINT: E.SMOKE_PROOF_INVALID,
  SMOKE_PROOF_INDEX: E.SMOKE_PROOF_INVALID,
  SMOKE_PROOF_MISSING: E.SMOKE_PROOF_INVALID,
  SMOKE_PROOF_ROLLBACK: E.SMOKE_PROOF_INVALID,
  SMOKE_PROOF_TILES: E.SMOKE_PROOF_INVALID,
  SMOKE_TILE_INDEX: E.SMOKE_PROOF_INVALID,
  SMOKE_TILE_RANGE: E.SMOKE_PROOF_INVALID,
  SMOKE_TILE_SHORT: E.SMOKE_PROOF_INVALID,
  MERKLE_BAD_HASH_LENGTH: E.SMOKE_PROOF_INVALID,
  MERKLE_BAD_INDEX: E.SMOKE_PROOF_INVALID,
  MERKLE_CONSISTENCY_INVALID: E.SMOKE_PROOF_INVALID,
  MERKLE_INCLUSION_INVALID: E.SMOKE_PROOF_INVALID,
  SMOKE_SIGNATURE_LOG_ID: E.SMOKE_SIGNATURE_INVALID,
  SMOKE_COSIGNATURE_INVALID: E.SMOKE_SIGNATURE_INVALID,
  SMOKE_WITNESS_UNSAFE: E.SMOKE_SIGNATURE_INVALID,
  SMOKE_TIMESTAMP_INVALID: E.SMOKE_SIGNATURE_INVALID,
  SMOKE_SIGNATURE_SET: E.SMOKE_SIGNATURE_INVALID,
  NOTE_CHECKPOINT_MALFORMED: E.SMOKE_SIGNATURE_INVALID,
  NOTE_KEY_NOT_FOUND: E.SMOKE_SIGNATURE_INVALID,
  NOTE_MALFORMED: E.SMOKE_SIGNATURE_INVALID,
  NOTE_ORIGIN_MISMATCH: E.SMOKE_SIGNATURE_INVALID,
  NOTE_SIGNATURE_INVALID: E.SMOKE_SIGNATURE_INVALID,
  NOTE_UNSUPPORTED_KEY: E.SMOKE_SIGNATURE_INVALID,

  LOG_FORK: E.LOG_FORK,
  LOG_HISTORY_CORRUPT: E.LOG_FORK,

  BACKUP_ARCHIVE_CORRUPT: E.BACKUP,
  BACKUP_ARCHIVE_UNREADABLE: E.BACKUP,
  BACKUP_FORMAT_UNSUPPORTED: E.BACKUP,
  BACKUP_FORMAT_UNAUTHENTICATED: E.BACKUP,
  BACKUP_FAILED: E.BACKUP,
  BACKUP_HOOK_FAILED: E.BACKUP,
  BACKUP_PASSPHRASE_MISSING: E.BACKUP,
  BACKUP_PASSPHRASE_WRONG: E.BACKUP,
  BACKUP_WRONG_STACK: E.BACKUP,
  RESTORE_FAILED: E.BACKUP,
  RESTORE_FORK_REFUSED: E.BACKUP,
  RESTORE_WITNESS_ROLLBACK_REFUSED: E.BACKUP,
  WITNESS_DB_UNREADABLE: E.BACKUP,
  RESTORE_IMAGES_MISSING: E.BACKUP,
  RESTORE_MISMATCH: E.BACKUP,
  RESTORE_STOP_FAILED: E.BACKUP,
  DRILL_FAILED: E.BACKUP,

  UPGRADE_ROLLED_BACK: E.UPGRADE_ROLLED_BACK,

  WITNESS_QUORUM_NOT_MET: E.WITNESS_QUORUM,
  MONITOR_ALERT: E.MONITOR_ALERT,

  INTERRUPTED: E.INTERRUPTED,
} as const satisfies Record<string, ErrorRow>;

export type ErrorCode = keyof typeof ERROR_EXIT;

/** Codes an HTTP client reports for its transport, per domain (registry, artifact download, log). */
export type HttpErrorDomain = 'REGISTRY' | 'ARTIFACT' | 'SMOKE';

export function exitCodeFor(code: ErrorCode): ExitCodeValue {
  const row: ErrorRow | undefined = isErrorCode(code) ? ERROR_EXIT[code] : undefined;
  if (row === undefined) return ExitCode.INTERNAL;
  return typeof row === 'number' ? row : row.exit;
}

/** A failure worth another try (its row says `transient`). */
export function isTransientError(e: unknown): boolean {
  const code = (e as AirgapError | undefined)?.code;
  if (typeof code !== 'string' || !isErrorCode(code)) return false;
  const row: ErrorRow = ERROR_EXIT[code];
  return typeof row === 'object' && row.transient;
}

/**
 * The log answered wrongly or not at all (exit 10 to 13: unreachable, rejected, a proof or a
 * signature that does not hold), whatever part of the check raised it (smoke, note, Merkle).
 */
export function isLogCheckFailure(e: unknown): e is AirgapError {
  if (!(e instanceof AirgapError)) return false;
  const exit = e.exitCode;
  return exit >= ExitCode.SMOKE_UNREACHABLE && exit <= ExitCode.SMOKE_SIGNATURE_INVALID;
}

export function isErrorCode(s: string): s is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_EXIT, s);
}

export class AirgapError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AirgapError';
    this.code = code;
    this.details = options.details ?? {};
  }

  get exitCode(): ExitCodeValue {
    return exitCodeFor(this.code);
  }
}

/** How many faults an error message shows; the rest are counted. */
const FAULTS_SHOWN = 50;

/** Several independent faults found in one pass (a media check reports all at once). */
export class AggregateAirgapError extends AirgapError {
  readonly faults: readonly AirgapError[];
  /**
   * Faults the message does not show: kept ones past the first FAULTS_SHOWN, and those a FaultList
   * only counted.
   */
  readonly more: number;

  constructor(code: ErrorCode, message: string, faults: readonly AirgapError[] | FaultList) {
    const list = faults instanceof FaultList ? faults.kept : faults;
    const more = (faults instanceof FaultList ? faults.dropped : 0) + Math.max(0, list.length - FAULTS_SHOWN);
    const shown = list.slice(0, FAULTS_SHOWN);
    super(
      code,
      `${message}\n${shown.map((f) => `  - ${f.message}`).join('\n')}${more ? `\n  ... and ${more} more` : ''}`,
      {
        details: { faults: list.map((f) => ({ code: f.code, message: f.message })), more },
      },
    );
    this.faults = list;
    this.more = more;
  }
}

/**
 * Faults collected in one pass, bounded: past `cap` they are only counted, so a hostile input
 * with a million bad entries costs a counter, not gigabytes.
 */
export class FaultList {
  readonly kept: AirgapError[] = [];
  dropped = 0;

  constructor(readonly cap = 1000) {}

  push(f: AirgapError): void {
    if (this.kept.length < this.cap) this.kept.push(f);
    else this.dropped++;
  }

  get length(): number {
    return this.kept.length + this.dropped;
  }

  some(pred: (f: AirgapError) => boolean): boolean {
    return this.kept.some(pred);
  }

  /** Puts the faults matching `first` ahead of the others (stable). */
  prioritize(first: (f: AirgapError) => boolean): void {
    const a = this.kept.filter(first);
    const b = this.kept.filter((f) => !first(f));
    this.kept.splice(0, this.kept.length, ...a, ...b);
  }
}
