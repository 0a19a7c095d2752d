/** The latest verified checkpoint of a log: tiles' /checkpoint (v2) or /api/v1/log (v1). */
import { AirgapError } from '../errors.js';
import { logRequest, parseJsonBody, show } from './log-http.js';
import { verifyCheckpointSignedByLogKey } from './note.js';
import { logPublicKey, type LogTarget } from './target.js';

export interface LogHead {
  size: number;
  rootHex: string;
  checkpoint: string;
}

/** Rekor v2: the checkpoint file the tiles are served with. */
export async function readTilesHead(t: LogTarget): Promise<LogHead> {
  const res = await logRequest(t.endpoint, 'GET', '/checkpoint');
  if (res.status !== 200) throw new AirgapError('SMOKE_READ_FAILED', `GET /checkpoint answered HTTP ${res.status}`);
  const note = res.body.toString('utf8');
  const cp = verifyCheckpointSignedByLogKey(note, t.origin, logPublicKey(t));
  return { size: cp.size, rootHex: Buffer.from(cp.rootHash).toString('hex'), checkpoint: note };
}

/** Rekor v1: the signed tree head of GET /api/v1/log (origin `<hostname> - <tree ID>`). */
export async function readApiV1Head(t: LogTarget): Promise<LogHead> {
  const res = await logRequest(t.endpoint, 'GET', '/api/v1/log');
  const info = parseJsonBody<{ signedTreeHead?: string; treeID?: string }>(res, 'GET /api/v1/log');
  const note = info.signedTreeHead ?? '';
  const cp = verifyCheckpointSignedByLogKey(note, `${t.origin} - ${show(info.treeID)}`, logPublicKey(t), t.origin);
  return { size: cp.size, rootHex: Buffer.from(cp.rootHash).toString('hex'), checkpoint: note };
}
