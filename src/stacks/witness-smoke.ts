/**
 * The smoke test of a witness instance, over TLS pinned to its CA, through nginx as a log would
 * reach it (tlog-witness, POST /add-checkpoint):
 *   1. /healthz answers: nginx and omniwitness are up;
 *   2. a checkpoint of a log the witness does not know is refused (404);
 *   3. a checkpoint of the instance's own test log signed with a key that is not the log's is refused (403);
 *   4. the test log's checkpoint (one entry, the same every time) is cosigned, and the cosignature
 *      verifies with the witness's published key; a rerun first learns the witness's size (409).
 * The test log is registered at install (`rekor-airgap-smoke/<instance>`, its key in the secrets).
 * The protocol says 404 and 403 for 2 and 3; omniwitness at the pinned commit answers both with
 * 500 (its SQLite store reports an unknown log as a failed query, and a bad signature is not
 * mapped to 403). Either is a refusal; what must never come back is a 200.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { ErrorCode } from '../errors.js';
import type { InstanceState } from '../instance/state.js';
import { instancePaths } from '../instance/layout.js';
import { logTargetOf } from '../instance/log-target.js';
import { ensureSmokeLog, smokeLogOrigin } from '../instance/witness-files.js';
import { logRequest, type LogEndpoint, type LogResponse } from '../rekor/log-http.js';
import { formatCheckpointBody, signNote } from '../tlog/note.js';
import type { SmokeCheck, SmokeReport } from '../rekor/report.js';
import { printable } from '../util/untrusted-text.js';
import { parseCosignatureVkey, verifyCosignature } from '../witness/cosignature.js';

/** Refusals of an unknown log, and of a checkpoint the log's key did not sign (see above). */
const REFUSED_UNKNOWN = [404, 500];
const REFUSED_FORGED = [403, 500];

/** A cosignature more than this far from the local clock fails the test (seconds). */
const CLOCK_SKEW_S = 600;

/** The test log's one entry, and so its tree: size 1, root = the leaf hash (RFC 6962). */
function smokeCheckpoint(origin: string, key: KeyObject): string {
  const leaf = Buffer.from(`rekor-airgap witness smoke test\n`);
  const root = createHash('sha256')
    .update(Buffer.concat([Buffer.from([0]), leaf]))
    .digest();
  return signNote(formatCheckpointBody({ origin, size: 1, rootHash: root, extensions: [] }), origin, key);
}

function addCheckpoint(ep: LogEndpoint, oldSize: number, note: string): Promise<LogResponse> {
  return logRequest(ep, 'POST', '/add-checkpoint', undefined, {
    body: Buffer.from(`old ${oldSize}\n\n${note}`),
    contentType: 'text/plain',
  });
}

function check(name: string, ok: boolean, detail: string, code: ErrorCode): SmokeCheck {
  return { name, ok, detail, ...(ok ? {} : { code }) };
}

export async function smokeWitness(state: InstanceState): Promise<SmokeReport> {
  const ep = (await logTargetOf(state)).endpoint;
  const checks: SmokeCheck[] = [];
  const report = (): SmokeReport => ({
    ok: checks.every((c) => c.ok),
    kind: 'witness',
    url: state.url,
    origin: state.origin,
    checks,
    entries: [],
  });
  const health = await logRequest(ep, 'GET', '/healthz');
  checks.push(
    check('witness answers', health.status === 200, `GET /healthz over TLS: HTTP ${health.status}`, 'SMOKE_REJECTED'),
  );
  if (!checks.at(-1)!.ok) return report();

  const stranger = generateKeyPairSync('ed25519').privateKey;
  const unknown = await addCheckpoint(
    ep,
    0,
    smokeCheckpoint(`${smokeLogOrigin(state.instance)}/unregistered`, stranger),
  );
  checks.push(
    check(
      'unknown log refused',
      REFUSED_UNKNOWN.includes(unknown.status),
      `a checkpoint of a log it does not cosign: HTTP ${unknown.status} (a refusal is ${REFUSED_UNKNOWN.join(' or ')})`,
      unknown.status === 200 ? 'SMOKE_WITNESS_UNSAFE' : 'SMOKE_REJECTED',
    ),
  );
  const { key } = await ensureSmokeLog(instancePaths(state.dataDir), state.instance);
  const origin = smokeLogOrigin(state.instance);
  const forged = await addCheckpoint(ep, 0, smokeCheckpoint(origin, stranger));
  checks.push(
    check(
      'wrong log key refused',
      REFUSED_FORGED.includes(forged.status),
      `the test log's checkpoint signed with another key: HTTP ${forged.status} (a refusal is ${REFUSED_FORGED.join(' or ')})`,
      forged.status === 200 ? 'SMOKE_WITNESS_UNSAFE' : 'SMOKE_REJECTED',
    ),
  );
  checks.push(await cosignedCheck(ep, state, smokeCheckpoint(origin, key)));
  return report();
}

/** Posts the test log's checkpoint (learning the witness's size first on a rerun) and checks the cosignature. */
async function cosignedCheck(ep: LogEndpoint, state: InstanceState, note: string): Promise<SmokeCheck> {
  const name = 'test log cosigned';
  let res = await addCheckpoint(ep, 0, note);
  if (res.status === 409) {
    const size = res.body.toString('utf8').trim();
    if (size !== '1')
      return check(
        name,
        false,
        `the witness holds size ${printable(size)} of the test log (expected 1)`,
        'SMOKE_REJECTED',
      );
    res = await addCheckpoint(ep, 1, note);
  }
  if (res.status !== 200)
    return check(
      name,
      false,
      `add-checkpoint of the test log: HTTP ${res.status} ${printable(res.body.toString('utf8').slice(0, 200))}`,
      'SMOKE_REJECTED',
    );
  const key = parseCosignatureVkey(state.stack.witnessVkey ?? '');
  const cosigned = verifyCosignature(note + res.body.toString('utf8'), key);
  if (!cosigned)
    return check(
      name,
      false,
      `the witness's answer holds no cosignature that verifies with ${key.vkey}`,
      'SMOKE_COSIGNATURE_INVALID',
    );
  const skew = Math.abs(cosigned.timestamp - Date.now() / 1000);
  if (skew > CLOCK_SKEW_S)
    return check(
      name,
      false,
      `cosignature time ${cosigned.timestamp} is ${Math.round(skew)} s off this host's clock`,
      'SMOKE_COSIGNATURE_INVALID',
    );
  return check(
    name,
    true,
    `cosigned by ${key.name} at ${new Date(cosigned.timestamp * 1000).toISOString()}`,
    'SMOKE_REJECTED',
  );
}
