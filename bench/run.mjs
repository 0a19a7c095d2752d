// The benchmark suite: each step of this tool next to the tool an operator already trusts for
// the same work, on the same data, in paired alternating runs; medians and ratios; and the peak
// memory of each command at several bundle sizes. Needs the rig (npm run bench brings it up).
//   node bench/run.mjs [--size 1024] [--runs 5] [--rss-sizes 100,1024,4096] [--out BENCHMARKS.md]
// Sizes are MiB of image layers (random, incompressible).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const SIZE = Number(opt('--size', '1024'));
const RUNS = Number(opt('--runs', '5'));
const RSS_SIZES = opt('--rss-sizes', '100,1024,4096').split(',').filter(Boolean).map(Number);
const OUT = opt('--out', path.resolve(import.meta.dirname, '../BENCHMARKS.md'));
const SKIP_INSTALL = args.includes('--no-install');
const root = path.resolve(import.meta.dirname, '..');
const CLI = path.join(root, 'dist/bin/cli.mjs');
const rigEnv = Object.fromEntries(
  readFileSync('/run/rekor-airgap-rig/rig.env', 'utf8')
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const REGISTRY = rigEnv.RIG_REGISTRY;
const OFFLINE = rigEnv.RIG_OFFLINE_DOCKER_HOST;
const NETNS = `--net=/var/run/netns/${rigEnv.RIG_OFFLINE_NETNS}`;
const work = path.join(os.tmpdir(), `rekor-airgap-bench-${process.pid}`);
mkdirSync(work, { recursive: true });

const sh = (cmd, env = {}) => {
  const r = spawnSync('bash', ['-c', cmd], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`failed (${r.status}): ${cmd}\n${r.stderr}`);
  return r.stdout.toString();
};
const time = (cmd, env) => {
  const t = process.hrtime.bigint();
  sh(cmd, env);
  return Number(process.hrtime.bigint() - t) / 1e9;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const q = (s) => `'${s.replace(/'/g, "'\\''")}'`;
const tool = (a) => `${q(process.execPath)} ${q(CLI)} ${a}`;

// Keys and the test image.
sh(`printf 'bench passphrase\\n' > ${work}/pass`);
if (!existsSync(`${work}/k.key`)) sh(tool(`bundle keygen --out ${work}/k --passphrase-file ${work}/pass`));
const KEY = `--key ${work}/k.key --passphrase-file ${work}/pass`;
const TRUST = `--trust ${work}/k.pub`;

function profileFor(mib) {
  const name = `bench-${mib}`;
  const dir = path.join(work, 'profiles');
  mkdirSync(path.join(dir, 'bundles'), { recursive: true });
  mkdirSync(path.join(dir, 'templates', name), { recursive: true });
  sh(`node ${q(path.join(import.meta.dirname, 'make-image.mjs'))} ${mib} m${mib}`);
  const file = path.join(dir, 'bundles', `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}\nkind: rekor-v2\nrelease: 1\nimages:\n  - name: data\n    ref: ${REGISTRY}/bench/random:m${mib}\ntemplates: []\nports:\n  https: 3443\n`,
  );
  return file;
}

/**
 * Paired, alternating runs: before each run `prep` resets and `sync` flushes what earlier runs
 * left dirty, so neither side pays for the other's writes; returns medians. A command that prints
 * {"seconds": N} reports its own time (a step measured inside its process).
 */
function paired(label, a, b, prep = () => {}) {
  const ta = [];
  const tb = [];
  const run = (cmd) => {
    const t = process.hrtime.bigint();
    const out = sh(cmd);
    const wall = Number(process.hrtime.bigint() - t) / 1e9;
    const m = /"seconds":([\d.]+)/.exec(out);
    return m ? Number(m[1]) : wall;
  };
  for (let i = 0; i < RUNS; i++) {
    for (const [which, cmd, into] of i % 2 === 0
      ? [
          ['a', a, ta],
          ['b', b, tb],
        ]
      : [
          ['b', b, tb],
          ['a', a, ta],
        ]) {
      prep(which);
      sh('sync');
      into.push(run(cmd));
    }
  }
  const row = { label, tool: median(ta), anchor: median(tb), ratio: median(ta) / median(tb) };
  process.stderr.write(`${label}: ${row.tool.toFixed(2)} s vs ${row.anchor.toFixed(2)} s = ${row.ratio.toFixed(2)}x\n`);
  return row;
}

function rss(cmd) {
  const out = sh(`/usr/bin/time -f '%M' ${cmd} 2>&1 >/dev/null | tail -n 1`);
  return Number(out.trim()) * 1024;
}

const rows = [];
const profile = profileFor(SIZE);
const bundle = path.join(work, 'bundle');
const media = path.join(work, 'media');

// create vs skopeo copy docker:// oci:
rows.push({
  ...paired(
    `create, one ${SIZE} MiB image of 4 random layers from the local registry`,
    tool(`bundle create --quiet --profile ${profile} --out ${work}/create-a ${KEY}`),
    `skopeo copy -q --src-tls-verify=false docker://${REGISTRY}/bench/random:m${SIZE} oci:${work}/create-b:m${SIZE}`,
    () => sh(`rm -rf ${work}/create-a ${work}/create-b`),
  ),
  anchorName: '`skopeo copy docker:// oci:`',
});
// The floor under create's pull: Node receiving the same layers and writing them (gathering writes,
// fsync), with no hashing, no bundle and no CLI around it (bench/http-floor.mjs).
rows.push({
  ...paired(
    `floor of create: Node receives those layers and writes them, nothing else`,
    `node ${q(path.join(import.meta.dirname, 'http-floor.mjs'))} ${REGISTRY} bench/random m${SIZE} write ${work}/floor`,
    `skopeo copy -q --src-tls-verify=false docker://${REGISTRY}/bench/random:m${SIZE} oci:${work}/create-b:m${SIZE}`,
    () => sh(`rm -rf ${work}/floor ${work}/create-b`),
  ),
  anchorName: '`skopeo copy docker:// oci:`',
});
sh(`rm -rf ${bundle} && ${tool(`bundle create --quiet --profile ${profile} --out ${bundle} ${KEY}`)}`);

// pack vs tar | split + sync
rows.push({
  ...paired(
    `pack the bundle into 256 MiB chunks`,
    tool(`bundle pack ${bundle} --out ${work}/pack-a --chunk-size 256MiB --quiet ${KEY}`),
    `mkdir -p ${work}/pack-b && tar -C ${bundle} -cf - . | split -b 256M - ${work}/pack-b/bundle.tar. && sync`,
    () => sh(`rm -rf ${work}/pack-a ${work}/pack-b`),
  ),
  anchorName: '`tar -c \\| split -b 256M` + `sync`',
});
sh(`rm -rf ${media} && ${tool(`bundle pack ${bundle} --out ${media} --chunk-size 256MiB --quiet ${KEY}`)}`);
const chunks = readdirSync(media)
  .filter((n) => n.startsWith('bundle.tar'))
  .map((n) => path.join(media, n))
  .join(' ');

// verify vs openssl (1 and 2 processes) and sha256sum
const verifyA = tool(`bundle verify ${media} --quiet ${TRUST}`);
rows.push({
  ...paired('verify the chunks (every chunk and every file)', verifyA, `openssl dgst -sha256 ${chunks} >/dev/null`),
  anchorName: '`openssl dgst -sha256`, one process',
});
rows.push({
  ...paired(
    'same, against openssl on both cores',
    verifyA,
    `ls ${chunks} | xargs -P2 -n1 openssl dgst -sha256 >/dev/null`,
  ),
  anchorName: '`openssl dgst` ×2 (`xargs -P2`)',
});
rows.push({
  ...paired('same, against coreutils', verifyA, `sha256sum ${chunks} >/dev/null`),
  anchorName: '`sha256sum`',
});

// unpack vs cat | tar -x
rows.push({
  ...paired(
    'unpack (verify and write the bundle)',
    tool(`bundle unpack ${media} --to ${work}/unpack-a --quiet ${TRUST}`),
    `mkdir -p ${work}/unpack-b && cat ${chunks} | tar -x -C ${work}/unpack-b`,
    () => sh(`rm -rf ${work}/unpack-a ${work}/unpack-b`),
  ),
  anchorName: '`cat \\| tar -x`',
});

// load into an empty engine vs docker load -i
const ref = `${REGISTRY}/bench/random:m${SIZE}`;
sh(`tar -C ${bundle}/images -cf ${work}/image.tar manifest.json blobs`);
const emptyEngine = () => {
  spawnSync('docker', ['-H', OFFLINE, 'rmi', '-f', ref], { stdio: 'ignore' });
};
rows.push({
  ...paired(
    `load the ${SIZE} MiB image into an empty engine (the install step, timed in its process)`,
    `DOCKER_HOST=${OFFLINE} node ${q(path.join(import.meta.dirname, 'load-child.mjs'))} ${bundle}`,
    `docker -H ${OFFLINE} load -q -i ${work}/image.tar`,
    emptyEngine,
  ),
  anchorName: '`docker load -i`',
});
emptyEngine();

// install and smoke of the real Rekor v2 stack
const single = [];
let installRss = 0;
if (!SKIP_INSTALL) {
  const v2 = path.join(work, 'rekor-v2');
  sh(
    `${tool(`bundle create --quiet --profile rekor-v2 --out ${v2} ${KEY} --mirror ghcr.io=${REGISTRY} --mirror docker.io=${REGISTRY}`)}`,
  );
  const data = path.join(work, 'inst');
  const inst = `nsenter ${NETNS} ${tool(`bundle install ${v2} ${TRUST} --instance bench --data-dir ${data} --hostname bench.rekor.test --port 13999 --no-smoke --quiet`)}`;
  const times = [];
  const smokes = [];
  for (let i = 0; i < Math.min(RUNS, 3); i++) {
    times.push(time(inst, { DOCKER_HOST: OFFLINE }));
    smokes.push(
      time(`nsenter ${NETNS} ${tool(`smoke --instance bench --data-dir ${data} --quiet`)}`, { DOCKER_HOST: OFFLINE }),
    );
    sh(`nsenter ${NETNS} ${tool(`bundle uninstall --instance bench --data-dir ${data} --purge --quiet`)}`, {
      DOCKER_HOST: OFFLINE,
    });
    sh(
      `docker -H ${OFFLINE} rmi -f $(docker -H ${OFFLINE} images -q ${REGISTRY}/sigstore/rekor-tiles/posix) >/dev/null 2>&1 || true`,
    );
  }
  const peak = rss(`env DOCKER_HOST=${OFFLINE} ${inst}`);
  sh(`nsenter ${NETNS} ${tool(`bundle uninstall --instance bench --data-dir ${data} --purge --quiet`)}`, {
    DOCKER_HOST: OFFLINE,
  });
  single.push(
    ['install Rekor v2 (verified bundle → healthy, images loaded)', median(times)],
    ['smoke test (healthy → verified report)', median(smokes)],
  );
  installRss = peak;
}

// Peak RSS per command and size.
const rssRows = [];
for (const mib of RSS_SIZES) {
  const p = profileFor(mib);
  const b = path.join(work, `rss-bundle-${mib}`);
  const m = path.join(work, `rss-media-${mib}`);
  const u = path.join(work, `rss-unpack-${mib}`);
  sh(`rm -rf ${b} ${m} ${u}`);
  const r = {
    size: mib,
    create: rss(tool(`bundle create --quiet --profile ${p} --out ${b} ${KEY}`)),
    pack: rss(tool(`bundle pack ${b} --out ${m} --chunk-size 256MiB --quiet ${KEY}`)),
    verify: rss(tool(`bundle verify ${m} --quiet ${TRUST}`)),
    unpack: rss(tool(`bundle unpack ${m} --to ${u} --quiet ${TRUST}`)),
    load: rss(`env DOCKER_HOST=${OFFLINE} node ${q(path.join(import.meta.dirname, 'load-child.mjs'))} ${b}`),
  };
  spawnSync('docker', ['-H', OFFLINE, 'rmi', '-f', `${REGISTRY}/bench/random:m${mib}`], { stdio: 'ignore' });
  sh(`rm -rf ${b} ${m} ${u}`);
  rssRows.push(r);
  process.stderr.write(`rss ${mib} MiB: ${JSON.stringify(r)}\n`);
}

const mb = (n) => `${Math.round(n / 1e6)} MB`;
const cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").trim();
const md = [
  '# Benchmarks',
  '',
  `Produced by \`node bench/run.mjs ${args.join(' ')}\` (\`npm run bench\`) on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB,`,
  `Node ${process.version}, ${sh('openssl version').trim()}, ${sh('skopeo --version').trim()}, Docker ${sh(`docker -H ${OFFLINE} version --format '{{.Server.Version}}'`).trim()}.`,
  `Medians of ${RUNS} paired runs, alternating which goes first; the page cache is warm for both sides.`,
  '',
  '| step | this tool | anchor | time of the anchor | ratio |',
  '|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.label} | ${r.tool.toFixed(2)} s | ${r.anchorName} | ${r.anchor.toFixed(2)} s | ${r.ratio.toFixed(2)}× |`,
  ),
  ...single.map(([l, t]) => `| ${l} | ${t.toFixed(2)} s | | | |`),
  '',
  'Peak resident memory (`/usr/bin/time -f %M`):',
  '',
  '| image size | create | pack | verify | unpack | load (install) |',
  '|---|---|---|---|---|---|',
  ...rssRows.map(
    (r) => `| ${r.size} MiB | ${mb(r.create)} | ${mb(r.pack)} | ${mb(r.verify)} | ${mb(r.unpack)} | ${mb(r.load)} |`,
  ),
  '',
  ...(installRss
    ? [
        `A whole install of the Rekor v2 stack (verify, load, configure, start, wait healthy) peaks at ${mb(installRss)}; its image load, the part that grows with the bundle, is the last column above.`,
        '',
      ]
    : []),
];
// The log-under-load section (bench/log-load.mjs) is kept as it was.
const kept = existsSync(OUT) ? /<!-- log-load -->[\s\S]*?<!-- \/log-load -->\n?/.exec(readFileSync(OUT, 'utf8')) : null;
writeFileSync(OUT, md.join('\n') + (kept ? `\n${kept[0]}` : ''));
process.stdout.write(md.join('\n'));
rmSync(work, { recursive: true, force: true });
