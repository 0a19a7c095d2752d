/** The latest verified checkpoint of a log: tiles' /checkpoint (v2) or /api/v1/log (v1). */
import { createPublicKey } from 'node:crypto';
import { AirgapError } from '../errors.js';
import { logRequest, parseJsonBody } from './log-http.js';
import { verifyCheckpointSignedByLogKey } from './note.js';
import type { SmokeTarget } from './smoke.js';

export async function readLogHead(t: SmokeTarget): Promise<{ size: number; rootHex: string; checkpoint: string }> {
  const key = createPublicKey(t.logKeyPem);
  if (t.kind === 'rekor-v2') {
    const res = await logRequest(t.endpoint, 'GET', '/checkpoint');
    if (res.status !== 200) throw new AirgapError('SMOKE_READ_FAILED', `GET /checkpoint answered HTTP ${res.status}`);
    const note = res.body.toString('utf8');
    const cp = verifyCheckpointSignedByLogKey(note, t.origin, key);
    return { size: cp.size, rootHex: Buffer.from(cp.rootHash).toString('hex'), checkpoint: note };
  }
  const res = await logRequest(t.endpoint, 'GET', '/api/v1/log');
  const info = parseJsonBody<{ signedTreeHead?: string; treeID?: string }>(res, 'GET /api/v1/log');
  const note = info.signedTreeHead ?? '';
  const cp = verifyCheckpointSignedByLogKey(note, `${t.origin} - ${info.treeID}`, key, t.origin);
  return { size: cp.size, rootHex: Buffer.from(cp.rootHash).toString('hex'), checkpoint: note };
}
