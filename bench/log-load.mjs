// The log under load: an installed instance of each stack on the rig's air-gapped engine, written
// to by 1, 8 and 64 concurrent clients through nginx for a fixed time each, with this tool's
// defaults, with the per-address limits raised, and — the anchor — the same images as upstream's
// compose files run them (the log server's own defaults, written to directly, no nginx in front).
// Writes the "Log under load" section of BENCHMARKS.md. Needs the rig (npm run bench:log brings it
// up); take the rig's lock around it: flock /tmp/e2e.lock npm run bench:log
//   node bench/log-load.mjs [--seconds 20] [--levels 1,8,64] [--stacks v2,v1] [--out BENCHMARKS.md]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const SECONDS = Number(opt('--seconds', '20'));
const LEVELS = opt('--levels', '1,8,64').split(',').map(Number);
const STACKS = opt('--stacks', 'v2,v1').split(',');
const OUT = opt('--out', path.resolve(import.meta.dirname, '../BENCHMARKS.md'));
const root = path.resolve(import.meta.dirname, '..');
const CLI = path.join(root, 'dist/bin/cli.mjs');
const CLIENT = path.join(import.meta.dirname, 'log-load-client.mjs');
const rigEnv = Object.fromEntries(
  readFileSync('/run/rekor-airgap-rig/rig.env', 'utf8')
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const OFFLINE = rigEnv.RIG_OFFLINE_DOCKER_HOST;
const NETNS = `--net=/var/run/netns/${rigEnv.RIG_OFFLINE_NETNS}`;
const R = rigEnv.RIG_REGISTRY;
const work = path.join(os.tmpdir(), `rekor-airgap-log-load-${process.pid}`);
mkdirSync(work, { recursive: true });
const log = (m) => process.stderr.write(`[log-load] ${m}\n`);

const run = (cmd, argv, env = {}) => {
  const r = spawnSync(cmd, argv, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 900_000,
  });
  if (r.status !== 0) throw new Error(`failed (${r.status}): ${cmd} ${argv.join(' ')}\n${r.stderr}`);
  return r.stdout;
};
const tool = (argv, offline = false) =>
  offline
    ? run('nsenter', [NETNS, process.execPath, CLI, ...argv], { DOCKER_HOST: OFFLINE })
    : run(process.execPath, [CLI, ...argv]);
const freePort = () =>
  Number(
    run('nsenter', [
      NETNS,
      process.execPath,
      '-e',
      "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close();})",
    ]).trim(),
  );
const compose = (project, files, argv) =>
  run('docker-compose', ['-p', project, ...files.flatMap((f) => ['-f', f]), ...argv], { DOCKER_HOST: OFFLINE });

// A bundle of both profiles, from the rig's registry (the connected side).
tool(['bundle', 'keygen', '--out', `${work}/k`, '--passphrase-file', writePass()]);
function writePass() {
  writeFileSync(`${work}/pass`, 'log load passphrase\n', { mode: 0o600 });
  return `${work}/pass`;
}
log('bundle create (rekor-v2, rekor-v1)');
tool([
  'bundle', 'create', '--quiet', '--profile', 'rekor-v2', '--profile', 'rekor-v1', '--out', `${work}/bundle`,
  '--key', `${work}/k.key`, '--passphrase-file', `${work}/pass`,
  '--sigstore-trusted-root', rigEnv.RIG_SIGSTORE_TRUSTED_ROOT,
  '--mirror', `ghcr.io=${R}`, '--mirror', `docker.io=${R}`,
  '--mirror', `proxy.golang.org=file://${rigEnv.RIG_GOMODCACHE_DOWNLOAD}`,
]); // prettier-ignore

/** Peak memory of each container of the project while `promise` runs (docker stats, every ~2 s). */
async function peakMemory(project, promise) {
  const peak = {};
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  const mib = (s) => {
    const m = /^([\d.]+)\s*([KMG]i?B|B)/.exec(s.trim());
    if (!m) return 0;
    return Number(m[1]) * { B: 1 / 1048576, KiB: 1 / 1024, kB: 1 / 1024, MiB: 1, MB: 1, GiB: 1024, GB: 1024 }[m[2]];
  };
  while (!done) {
    const out = await new Promise((res) => {
      const p = spawn('docker', ['-H', OFFLINE, 'stats', '--no-stream', '--format', '{{.Name}}\t{{.MemUsage}}'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let s = '';
      p.stdout.on('data', (d) => (s += d));
      p.on('close', () => res(s));
    });
    for (const line of out.split('\n')) {
      const [name, usage] = line.split('\t');
      if (!name?.startsWith(`${project}_`) || !usage) continue;
      const service = name.slice(project.length + 1).replace(/_\d+$/, '');
      peak[service] = Math.max(peak[service] ?? 0, mib(usage.split('/')[0]));
    }
  }
  return peak;
}

async function level(project, cfg, clients) {
  const p = new Promise((res, rej) => {
    const c = spawn(
      'nsenter',
      [NETNS, process.execPath, CLIENT, JSON.stringify({ ...cfg, clients, seconds: SECONDS })],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('close', (code) => (code === 0 ? res(JSON.parse(out)) : rej(new Error(`client exited ${code}`))));
  });
  const [result, peak] = await Promise.all([p, peakMemory(project, p)]);
  log(`${project} ${clients} clients: ${JSON.stringify(result)} peak ${JSON.stringify(peak)}`);
  return { ...result, peak };
}

const STACK = {
  v2: { profile: 'rekor-v2', cpPath: '/checkpoint', logPath: '/checkpoint' },
  v1: { profile: 'rekor-v1', cpPath: '/api/v1/log', logPath: '/api/v1/log' },
};
const RAISED = ['--write-rate', '10000', '--write-burst', '10000', '--max-connections-per-client', '1000'];

/**
 * The anchor: the log server as upstream's compose file runs it. v2 (rekor-tiles' posix-compose.yml,
 * with the flags' own defaults): rekor-tiles with only the flags it needs (addresses, origin,
 * storage, signer) — 10 s checkpoints, 4 MiB bodies, 20 s server timeout, no persistent antispam —
 * written to directly over HTTP; the tiles read through nginx as upstream's compose serves them.
 * v1 (rekor's docker-compose.yml): rekor-server written to directly over HTTP on its port 3000,
 * no nginx; Trillian and the database as installed (upstream's flags are the same: quota noop, MySQL).
 */
function anchorOverride(api, state, port) {
  const cmd =
    api === 'v2'
      ? `    command: ["rekor-server", "serve", "--http-address=0.0.0.0", "--grpc-address=0.0.0.0", "--hostname=${state.origin}", "--storage-dir=/var/lib/rekor-tiles", "--signer-filepath=/etc/rekor/signer.pem"]\n`
      : '';
  const file = path.join(work, `anchor-${api}.yaml`);
  writeFileSync(
    file,
    `services:\n  rekor:\n${cmd}    networks:\n      frontend: {}\n    ports:\n      - "127.0.0.1:${port}:3000"\n`,
  );
  return file;
}

async function runStack(api) {
  const s = STACK[api];
  const instance = `load-${api}`;
  const dataDir = path.join(work, 'data', instance);
  const hostname = `${instance}.rekor.test`;
  const port = freePort();
  const install = (extra) =>
    JSON.parse(
      tool(
        [
          'bundle', 'install', `${work}/bundle`, '--trust', `${work}/k.pub`, '--profile', s.profile,
          '--instance', instance, '--data-dir', dataDir, '--hostname', hostname, '--port', String(port),
          '--json', '--quiet', '--timeout', '300', ...extra,
        ],
        true,
      ),
    ); // prettier-ignore
  log(`installing ${s.profile} as ${instance}`);
  install([]);
  const state = JSON.parse(readFileSync(path.join(dataDir, 'state.json'), 'utf8'));
  const tls = { ca: path.join(dataDir, 'tls', 'ca.crt'), servername: hostname };
  const viaNginx = { host: '127.0.0.1', port, tls };
  const cfg = { api, write: viaNginx, checkpoint: { ...viaNginx, path: s.cpPath } };
  const rows = [];
  try {
    for (const n of LEVELS) rows.push({ setup: 'defaults', ...(await level(state.project, cfg, n)) });
    log(`${instance}: rerun with the per-address limits raised (${RAISED.join(' ')})`);
    install(RAISED);
    for (const n of LEVELS) rows.push({ setup: 'raised', ...(await level(state.project, cfg, n)) });
    const direct = freePort();
    const composeFile = path.join(dataDir, 'config', 'compose.yaml');
    const override = anchorOverride(api, state, direct);
    log(`${instance}: the anchor (the log server as upstream's compose runs it, on 127.0.0.1:${direct})`);
    compose(state.project, [composeFile, override], ['up', '-d', 'rekor']);
    const directEp = { host: '127.0.0.1', port: direct };
    await waitFor(directEp, api === 'v2' ? '/healthz' : '/api/v1/log');
    const anchorCfg = {
      api,
      write: directEp,
      checkpoint: api === 'v2' ? { ...viaNginx, path: s.cpPath } : { ...directEp, path: s.cpPath },
    };
    for (const n of LEVELS) rows.push({ setup: 'anchor', ...(await level(state.project, anchorCfg, n)) });
    compose(state.project, [composeFile], ['up', '-d', 'rekor']);
  } finally {
    tool(['bundle', 'uninstall', '--instance', instance, '--data-dir', dataDir, '--purge', '--quiet'], true);
  }
  return { api, state, rows };
}

async function waitFor(ep, urlPath) {
  for (let i = 0; i < 120; i++) {
    const r = spawnSync('nsenter', [NETNS, 'curl', '-sf', '-o', '/dev/null', `http://${ep.host}:${ep.port}${urlPath}`]);
    if (r.status === 0) return;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`the anchor did not answer on ${ep.host}:${ep.port}${urlPath}`);
}

const started = new Date();
const results = [];
for (const api of STACKS) results.push(await runStack(api));

// The report.
const f = (v, d = 0) => (v === null || v === undefined ? '–' : Number(v).toFixed(d));
const s = (ms) => (ms === null || ms === undefined ? '–' : `${(ms / 1000).toFixed(2)} s`);
const md = [
  '<!-- log-load -->',
  '## Log under load',
  '',
  `Produced by \`flock /tmp/e2e.lock npm run bench:log\` (\`node bench/log-load.mjs --seconds ${SECONDS} --levels ${LEVELS.join(',')}\`) on ${started.toISOString().slice(0, 10)}: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, the rig's air-gapped engine.`,
  `Each row: that many concurrent clients, all from one address (127.0.0.1 in the air-gapped namespace, as a build farm behind one NAT address), submitting real signed hashedrekord entries for ${SECONDS} s; "covered" is the time from a submission until a checkpoint read back from the log (polled every 100 ms) includes the entry. Peak memory: \`docker stats\` every ~2 s.`,
  '',
  `- **defaults**: an install with no options (nginx: ${results[0].state.limits.writeRate} writes/s per address, burst ${results[0].state.limits.writeBurst}, ${results[0].state.limits.maxConnectionsPerClient} connections; rekor-tiles every ${results[0].state.checkpointInterval}).`,
  `- **raised**: a rerun with \`${RAISED.join(' ')}\`.`,
  "- **anchor**: the same images as upstream's compose files run them, written to directly (no nginx, no TLS): rekor-tiles with its flags' defaults (10 s checkpoints, no persistent antispam; upstream's posix-compose.yml says 2 s and persistent antispam), reads from the tiles through nginx as that file serves them; rekor-server on its port 3000 as rekor's docker-compose.yml publishes it (with this instance's key and tree, where upstream's makes a key in memory and a tree at each start).",
  '',
];
for (const r of results) {
  const services = [...new Set(r.rows.flatMap((x) => Object.keys(x.peak)))].sort();
  md.push(
    `### ${STACK[r.api].profile} (${Object.values(r.state.images)
      .map((i) => i.ref.split('/').pop())
      .join(', ')})`,
    '',
  );
  md.push(
    `| setup | clients | entries/s | 201 p50 | 201 p99 | covered p50 | covered p99 | 429 | 5xx | other | ${services.map((x) => `${x} MiB`).join(' | ')} |`,
    `|---|---|---|---|---|---|---|---|---|---|${services.map(() => '---|').join('')}`,
  );
  for (const x of r.rows)
    md.push(
      `| ${x.setup} | ${x.clients} | ${f(x.entriesPerSec, 1)} | ${s(x.p50Ms)} | ${s(x.p99Ms)} | ${s(x.coveredP50Ms)} | ${s(x.coveredP99Ms)} | ${x.s429} | ${x.s5xx} | ${x.other} | ${services.map((k) => f(x.peak[k])).join(' | ')} |`,
    );
  md.push('');
}
md.push('<!-- /log-load -->', '');
const section = md.join('\n');
const before = existsSync(OUT) ? readFileSync(OUT, 'utf8') : '# Benchmarks\n';
const re = /<!-- log-load -->[\s\S]*?<!-- \/log-load -->\n?/;
writeFileSync(OUT, re.test(before) ? before.replace(re, section) : `${before.trimEnd()}\n\n${section}`);
writeFileSync(path.join(work, 'results.json'), JSON.stringify(results, null, 2));
log(`wrote ${OUT} (raw results: ${work}/results.json)`);
rmSync(path.join(work, 'bundle'), { recursive: true, force: true });
