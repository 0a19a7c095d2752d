/** Smoke test of a Rekor v1 log (filled in below). */
import type { KeyObject } from 'node:crypto';
import { AirgapError } from '../errors.js';
import type { LogEndpoint } from './log-http.js';
import type { SmokeReport } from './report.js';

export interface SmokeV1Options {
  endpoint: LogEndpoint;
  logKey: KeyObject;
  hostname: string;
  instance: string;
}

export async function smokeV1(_o: SmokeV1Options): Promise<SmokeReport> {
  throw new AirgapError('SMOKE_UNSUPPORTED', 'the Rekor v1 smoke test is not implemented yet');
}
