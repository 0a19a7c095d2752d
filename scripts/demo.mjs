// The whole story, locally, on the rig: a signed bundle from the connected side's registry, packed
// into chunks, carried to "the other side", verified and unpacked there, installed on the air-gapped
// engine (a network namespace with no route out), smoke-tested, handed over.
// Run with `npm run demo` (it builds, and starts the rig when needed).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const cli = path.join(root, 'dist/bin/cli.mjs');
const work = path.join(root, '.demo');
const rigEnvFile = '/run/rekor-airgap-rig/rig.env';
if (!existsSync(rigEnvFile)) throw new Error(`the rig is not up (${rigEnvFile} missing): run bash test/rig/rig up`);
const rig = Object.fromEntries(
  readFileSync(rigEnvFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const netns = `--net=/var/run/netns/${rig.RIG_OFFLINE_NETNS}`;
const offlineEnv = { ...process.env, DOCKER_HOST: rig.RIG_OFFLINE_DOCKER_HOST };

let step = 0;
function say(text) {
  console.log(`\n\x1b[1m== ${++step}. ${text}\x1b[0m`);
}
function run(cmd, args, opts = {}) {
  console.log(`$ ${[cmd, ...args].map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`\ndemo failed at step ${step} (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}
const tool = (args) => run(process.execPath, [cli, ...args]);
const offlineTool = (args) => run('nsenter', [netns, process.execPath, cli, ...args], { env: offlineEnv });

say('clean up an earlier demo');
if (existsSync(path.join(work, 'site/data/demo/state.json'))) {
  spawnSync(
    'nsenter',
    [
      netns,
      process.execPath,
      cli,
      'bundle',
      'uninstall',
      '--instance',
      'demo',
      '--data-dir',
      path.join(work, 'site/data/demo'),
      '--purge',
    ],
    { stdio: 'inherit', env: offlineEnv },
  );
}
rmSync(work, { recursive: true, force: true });
mkdirSync(path.join(work, 'connected'), { recursive: true });
mkdirSync(path.join(work, 'site'), { recursive: true });

say('connected host: make a bundle signing key');
const pass = path.join(work, 'connected/passphrase');
writeFileSync(pass, randomBytes(18).toString('base64'), { mode: 0o600 });
tool(['bundle', 'keygen', '--out', path.join(work, 'connected/bundle-signing'), '--passphrase-file', pass]);

say(
  "connected host: pull the Rekor v2 stack (daemonless, pinned by digest), verify upstream's signed provenance, and write a signed bundle",
);
tool([
  'bundle',
  'create',
  '--profile',
  'rekor-v2',
  '--out',
  path.join(work, 'connected/bundle'),
  '--key',
  path.join(work, 'connected/bundle-signing.key'),
  '--passphrase-file',
  pass,
  // The rig's registry stands in for ghcr.io and docker.io, and the rig's test Sigstore for
  // sigstore.dev: it signed the stand-in images the way upstream's release workflows sign theirs.
  '--sigstore-trusted-root',
  rig.RIG_SIGSTORE_TRUSTED_ROOT,
  '--mirror',
  `ghcr.io=${rig.RIG_REGISTRY}`,
  '--mirror',
  `docker.io=${rig.RIG_REGISTRY}`,
]);

say('connected host: pack it for removable media in 64 MiB chunks with a signed index');
tool([
  'bundle',
  'pack',
  path.join(work, 'connected/bundle'),
  '--out',
  path.join(work, 'connected/usb'),
  '--chunk-size',
  '64MiB',
  '--key',
  path.join(work, 'connected/bundle-signing.key'),
  '--passphrase-file',
  pass,
]);

say('carry the medium across the air gap (and the public key, by a separate trusted channel)');
cpSync(path.join(work, 'connected/usb'), path.join(work, 'site/usb'), { recursive: true });
cpSync(path.join(work, 'connected/bundle-signing.pub'), path.join(work, 'site/bundle-signing.pub'));
console.log(`copied to ${path.join(work, 'site/usb')}`);

say('offline host: verify every chunk and file against the signed index, then unpack');
offlineTool(['bundle', 'verify', path.join(work, 'site/usb'), '--trust', path.join(work, 'site/bundle-signing.pub')]);
offlineTool([
  'bundle',
  'unpack',
  path.join(work, 'site/usb'),
  '--to',
  path.join(work, 'site/bundle'),
  '--trust',
  path.join(work, 'site/bundle-signing.pub'),
]);

say('offline host: install (verify, preflight, load images without a registry, keys, TLS, compose, health, smoke)');
offlineTool([
  'bundle',
  'install',
  path.join(work, 'site/bundle'),
  '--trust',
  path.join(work, 'site/bundle-signing.pub'),
  '--instance',
  'demo',
  '--data-dir',
  path.join(work, 'site/data/demo'),
  '--hostname',
  'rekor.demo.internal',
]);

say('offline host: the smoke test again, on its own, with its ledger record');
offlineTool([
  'smoke',
  '--instance',
  'demo',
  '--data-dir',
  path.join(work, 'site/data/demo'),
  '--output',
  path.join(work, 'site/smoke-record.json'),
]);

say('offline host: status');
offlineTool(['status', '--instance', 'demo', '--data-dir', path.join(work, 'site/data/demo')]);

say(
  'offline host: a backup (secrets sealed with a passphrase), and a drill that restores it into a scratch instance and proves it',
);
const backupPass = path.join(work, 'site/data/demo/secrets/backup-passphrase');
writeFileSync(backupPass, `${randomBytes(18).toString('base64')}\n`, { mode: 0o600 });
offlineTool([
  'backup',
  '--instance',
  'demo',
  '--data-dir',
  path.join(work, 'site/data/demo'),
  '--out',
  path.join(work, 'site/backup/demo.tar'),
]);
offlineTool(['backup', 'drill', '--instance', 'demo', '--data-dir', path.join(work, 'site/data/demo')]);
console.log(
  `\ndemo complete. The log keeps running on the air-gapped engine; remove it with:\n  DOCKER_HOST=${rig.RIG_OFFLINE_DOCKER_HOST} nsenter ${netns} node ${cli} bundle uninstall --instance demo --data-dir ${path.join(work, 'site/data/demo')} --purge`,
);
