// One load level against one log: N concurrent writers submit real signed hashedrekord entries
// (the tool's own request, dist/rekor/entry-request.js) for a fixed time, while a reader polls the
// published checkpoint. Runs inside the air-gapped namespace (nsenter); prints one JSON result.
//   node bench/log-load-client.mjs '{"api":"v2","write":{...},"checkpoint":{...},"clients":8,"seconds":20}'
// "record": true adds every answer (status, log index, digest) to the result. An endpoint is {"host","port","tls":{"ca","servername"}?,"path"}; every request is to loopback.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { chainRecord, signedEntryRequest } from '../dist/rekor/entry-request.js';

const cfg = JSON.parse(process.argv[2]);
const { api, clients, seconds } = cfg;
const MAX_REQUESTS = cfg.maxRequests ?? 200_000; // bounded in count as well as in time
const now = () => performance.now();

function agentFor(ep, sockets) {
  const opts = { keepAlive: true, maxSockets: sockets };
  return ep.tls ? new https.Agent({ ...opts, ca: readFileSync(ep.tls.ca) }) : new http.Agent(opts);
}

function request(ep, agent, method, urlPath, body) {
  return new Promise((resolve) => {
    const mod = ep.tls ? https : http;
    const req = mod.request(
      {
        host: ep.host,
        port: ep.port,
        method,
        path: urlPath,
        agent,
        ...(ep.tls ? { servername: ep.tls.servername, headers: { host: `${ep.tls.servername}:${ep.port}` } } : {}),
        timeout: 120_000,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
        res.on('error', (e) => resolve({ status: 0, error: e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, error: e.message }));
    if (body) {
      req.setHeader('content-type', 'application/json');
      req.setHeader('content-length', body.length);
      req.end(body);
    } else req.end();
  });
}

/** The log index of a 201: v2 `logIndex` (a string), v1 the one entry's `logIndex`. */
function indexOf(body) {
  const j = JSON.parse(body.toString('utf8'));
  if (api === 'v2') return Number(j.logIndex);
  return Number(Object.values(j)[0].logIndex);
}

/** The size of the published checkpoint: v2 the note's second line, v1 `treeSize` of GET /api/v1/log. */
function sizeOf(body) {
  if (api === 'v2') return Number(body.toString('utf8').split('\n')[1]);
  return Number(JSON.parse(body.toString('utf8')).treeSize);
}

const writeAgent = agentFor(cfg.write, clients);
const readAgent = agentFor(cfg.checkpoint, 1);
const results = []; // { start, end, status, index? }
const sizes = []; // { t, size }
let sent = 0;
const t0 = now();
const deadline = t0 + seconds * 1000;

async function writer() {
  while (now() < deadline && sent < MAX_REQUESTS) {
    sent++;
    const signed = signedEntryRequest(api, chainRecord('load'));
    const body = Buffer.from(JSON.stringify(signed.request));
    const start = now();
    const res = await request(cfg.write, writeAgent, 'POST', signed.path, body);
    const r = { start, end: now(), status: res.status };
    if (cfg.record) r.digest = signed.digest.toString('hex');
    if (res.status === 201) {
      try {
        r.index = indexOf(res.body);
      } catch {
        r.status = -201; // a 201 whose body did not parse: counted apart
      }
    }
    results.push(r);
  }
}

let polling = true;
async function poller() {
  while (polling) {
    const t = now();
    const res = await request(cfg.checkpoint, readAgent, 'GET', cfg.checkpoint.path);
    if (res.status === 200) {
      const size = sizeOf(res.body);
      if (Number.isSafeInteger(size)) sizes.push({ t: now(), size });
    }
    const wait = 100 - (now() - t);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

const poll = poller();
await Promise.all(Array.from({ length: clients }, writer));
const lastEnd = now();
// Keep reading checkpoints until every entry answered 201 is covered (at most 30 s more).
const ok = results.filter((r) => r.status === 201);
const maxIndex = ok.reduce((m, r) => Math.max(m, r.index), -1);
while (now() < lastEnd + 30_000 && !(sizes.length && sizes[sizes.length - 1].size > maxIndex))
  await new Promise((r) => setTimeout(r, 100));
polling = false;
await poll;

const pct = (xs, p) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
// Covered: the first checkpoint read whose size is above the entry's index, from the entry's submission.
const covered = [];
let uncovered = 0;
for (const r of ok) {
  const c = sizes.find((s) => s.t >= r.start && s.size > r.index);
  if (c) covered.push(c.t - r.start);
  else uncovered++;
}
const latency = ok.map((r) => r.end - r.start);
const count = (f) => results.filter(f).length;
const elapsed = (lastEnd - t0) / 1000;
console.log(
  JSON.stringify({
    clients,
    seconds: Number(elapsed.toFixed(2)),
    requests: results.length,
    created: ok.length,
    entriesPerSec: Number((ok.length / elapsed).toFixed(2)),
    p50Ms: pct(latency, 50),
    p99Ms: pct(latency, 99),
    coveredP50Ms: pct(covered, 50),
    coveredP99Ms: pct(covered, 99),
    uncovered,
    s429: count((r) => r.status === 429),
    s5xx: count((r) => r.status >= 500),
    other: count((r) => r.status !== 201 && r.status !== 429 && !(r.status >= 500)),
    checkpointsRead: sizes.length,
    // With "record": every answer, for checking afterwards that each 201 is in the log.
    ...(cfg.record ? { answers: results.map((r) => ({ status: r.status, index: r.index, digest: r.digest })) } : {}),
    script: path.basename(import.meta.filename),
  }),
);
writeAgent.destroy();
readAgent.destroy();
