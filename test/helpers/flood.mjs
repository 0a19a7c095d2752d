// Sends COUNT requests at once to a log (TLS pinned to CA, connecting to 127.0.0.1) and prints the
// HTTP statuses seen, as JSON: {"201": 3, "429": 40, ...}.
//   node flood.mjs URL CA COUNT BODY_BYTES
import https from 'node:https';
import { readFileSync } from 'node:fs';

const [url, caFile, count, bodyBytes] = process.argv.slice(2);
const ca = readFileSync(caFile);
const u = new URL(url);
const body = Buffer.alloc(Number(bodyBytes), 0x7b);
const one = () =>
  new Promise((resolve) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        servername: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        ca,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
        agent: false,
        timeout: 30_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.statusCode)));
      },
    );
    req.on('error', (e) => resolve(`error:${e.code ?? e.message}`));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(body);
  });
const seen = {};
for (const s of await Promise.all(Array.from({ length: Number(count) }, one))) seen[s] = (seen[s] ?? 0) + 1;
console.log(JSON.stringify(seen));
