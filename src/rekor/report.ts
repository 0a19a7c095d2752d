/** The smoke test's report: named checks, and the record operators' ledgers already take. */
import type { ErrorCode } from '../errors.js';

export interface SmokeCheck {
  name: string;
  ok: boolean;
  detail: string;
  code?: ErrorCode;
}

export interface SmokeRecord {
  event_type: 'transparency.checkpoint';
  payload: {
    rekor_log_index: number;
    rekor_server: string;
    inclusion_proof: { log_index: number; tree_size: number; root_hash: string; hashes: string[]; checkpoint: string };
    checkpoint: string;
    digest: string;
  };
}

export interface SmokeReport {
  ok: boolean;
  kind: 'rekor-v2' | 'rekor-v1' | 'witness';
  url: string;
  origin: string;
  checks: SmokeCheck[];
  record?: SmokeRecord;
  /** Raw entries, for independent cross-checks. */
  entries: Array<{ logIndex: number; uuid?: string; canonicalizedBody: string }>;
}
