// A man in the middle for smoke tests, holding a certificate from the instance's own CA (as an
// attacker with that CA would): it forwards to the real log and tampers with one thing.
//   node tamper-proxy.mjs PORT UPSTREAM_PORT CERT KEY CA MODE
// MODE: proof (flip a byte of the first inclusion-proof hash), checkpoint-signature (flip a byte of
// the checkpoint's signature), request (flip a byte of the entry's signature before the log sees it).
import https from 'node:https';
import { readFileSync } from 'node:fs';

const [port, upstreamPort, certFile, keyFile, caFile, mode] = process.argv.slice(2);
const ca = readFileSync(caFile);

function flipB64(s, at = 0) {
  const b = Buffer.from(s, 'base64');
  b[at] ^= 0x01;
  return b.toString('base64');
}

const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    let body = Buffer.concat(parts);
    const isPost = req.method === 'POST' && req.url.startsWith('/api/v2/log/entries');
    if (isPost && mode === 'request') {
      const j = JSON.parse(body);
      j.hashedRekordRequestV002.signature.content = flipB64(j.hashedRekordRequestV002.signature.content, 10);
      body = Buffer.from(JSON.stringify(j));
    }
    const host = (req.headers.host ?? '').split(':')[0];
    const up = https.request(
      {
        host: '127.0.0.1',
        port: upstreamPort,
        path: req.url,
        method: req.method,
        servername: host,
        ca,
        headers: { ...req.headers, 'content-length': body.length },
      },
      (ur) => {
        const out = [];
        ur.on('data', (c) => out.push(c));
        ur.on('end', () => {
          let resBody = Buffer.concat(out);
          if (isPost && ur.statusCode === 201) {
            const j = JSON.parse(resBody);
            if (mode === 'proof') j.inclusionProof.hashes[0] = flipB64(j.inclusionProof.hashes[0], 5);
            if (mode === 'checkpoint-signature') {
              const env = j.inclusionProof.checkpoint.envelope;
              const line = env.trimEnd().split('\n').pop();
              const sig = line.split(' ').pop();
              j.inclusionProof.checkpoint.envelope = env.replace(sig, flipB64(sig, 20));
            }
            resBody = Buffer.from(JSON.stringify(j));
          }
          const headers = { ...ur.headers, 'content-length': resBody.length };
          delete headers['transfer-encoding'];
          res.writeHead(ur.statusCode, headers);
          res.end(resBody);
        });
      },
    );
    up.on('error', (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    up.end(body);
  });
});
server.listen(Number(port), '127.0.0.1', () => console.log('listening'));
