/**
 * What a restore lays out and swaps in: never more permissive than an install, whatever an
 * (authenticated) archive says; and a failed stop of the instance being replaced moves nothing.
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openBackupArchive } from '../../../src/backup/archive.js';
import { openEngine } from '../../../src/engine/engine.js';
import { restorePolicy, stageInstance, swapIn } from '../../../src/backup/restore-stage.js';
import type { Compose } from '../../../src/engine/compose.js';
import { AirgapError } from '../../../src/errors.js';
import { instancePaths } from '../../../src/instance/layout.js';
import { rekorV1Stack } from '../../../src/stacks/rekor-v1.js';
import { rekorV2Stack } from '../../../src/stacks/rekor-v2.js';
import { silentProgress } from '../../../src/util/progress.js';
import { backupOf, makeInstance, PASS } from '../../helpers/backup-fixture.js';
import { expectCode, expectCodeAsync } from '../../helpers/expect-code.js';
import { tempDir } from '../../helpers/fixtures.js';

const asRoot = process.getuid?.() === 0;

/** Every file and directory under `dir` that is group/other-writable, setuid/setgid/sticky, or owned outside `owners`. */
function tooPermissive(dir: string, owners: readonly number[]): string[] {
  const bad: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      const st = lstatSync(full);
      if (st.mode & 0o7022 || !owners.includes(st.uid) || !owners.includes(st.gid))
        bad.push(`${path.relative(dir, full)} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`);
      if (st.isDirectory()) walk(full);
    }
  };
  walk(dir);
  return bad;
}

describe('restore never lays out anything more permissive than an install', () => {
  it.skipIf(!asRoot)(
    'an authenticated backup of an instance with 0777 directories, a setuid file, a world-writable secret and owner nobody restores as an install would have made it',
    async () => {
      const dir = tempDir();
      const inst = makeInstance(dir);
      const p = instancePaths(inst.dataDir);
      chmodSync(p.config, 0o777);
      chownSync(p.config, 65534, 65534);
      chmodSync(p.log, 0o1777);
      chmodSync(p.secrets, 0o777);
      chmodSync(p.tls, 0o2775);
      chmodSync(path.join(p.scripts, 'backup.sh'), 0o4777);
      chmodSync(p.compose, 0o666);
      chownSync(p.compose, 65534, 1234);
      chmodSync(p.logSigner, 0o666);
      chownSync(p.logSigner, 65534, 65534);
      const archive = await backupOf(inst, path.join(dir, 'b.tar'));
      const staging = path.join(dir, 'staging');
      mkdirSync(staging);
      const a = await openBackupArchive(archive, PASS, staging);
      // The archive says what the instance had: the backup is faithful, the restore is not obliged to be.
      expect(a.manifest.dirs.find((d) => d.path === 'log')!.mode).toBe(0o1777);
      const warnings: string[] = [];
      const data = await stageInstance({
        manifest: a.manifest,
        secrets: a.secrets,
        staging,
        stack: rekorV2Stack,
        what: archive,
        progress: { ...silentProgress, warn: (m) => warnings.push(m) },
      });
      expect(tooPermissive(data, [0, 65532])).toEqual([]);
      const mode = (rel: string) => lstatSync(path.join(data, rel)).mode & 0o7777;
      expect([
        mode('config'),
        mode('log'),
        mode('secrets'),
        mode('tls'),
        mode('scripts/backup.sh'),
        mode('config/compose.yaml'),
        mode('secrets/log-signer.pem'),
      ]).toEqual([0o755, 0o755, 0o711, 0o755, 0o755, 0o644, 0o600]);
      expect(lstatSync(path.join(data, 'log')).uid).toBe(65532);
      expect(lstatSync(path.join(data, 'log/tile/0/000.p/3')).uid).toBe(65532);
      expect(lstatSync(path.join(data, 'config')).uid).toBe(0);
      expect(readFileSync(path.join(data, 'secrets/log-signer.pem'), 'utf8')).toContain('PRIVATE KEY');
      expect(warnings.join('\n')).toMatch(/\d+ modes or owners .* were wider than an install makes them/);
    },
    30_000,
  );

  it.skipIf(!asRoot)(
    'a directory that is not of the instance layout is refused before anything is laid out',
    async () => {
      const dir = tempDir();
      const inst = makeInstance(dir);
      mkdirSync(path.join(inst.dataDir, 'etc/cron.d'), { recursive: true });
      writeFileSync(path.join(inst.dataDir, 'etc/cron.d/x'), '* * * * * root sh\n');
      const archive = await backupOf(inst, path.join(dir, 'b.tar'));
      const staging = path.join(dir, 'staging');
      mkdirSync(staging);
      const a = await openBackupArchive(archive, PASS, staging);
      const e = await expectCodeAsync(
        () =>
          stageInstance({
            manifest: a.manifest,
            secrets: a.secrets,
            staging,
            stack: rekorV2Stack,
            what: archive,
            progress: silentProgress,
          }),
        'BACKUP_ARCHIVE_CORRUPT',
      );
      expect(e.message).toMatch(/"etc" is not a directory of a rekor-v2 instance/);
      expect(existsSync(path.join(staging, 'data/checkpoints'))).toBe(false);
    },
    30_000,
  );

  it("the policy: modes narrowed to an install's, owners to those the stack declares, directories to the layout", () => {
    const v2 = restorePolicy(rekorV2Stack, 'b.tar');
    expect([
      v2.dirMode('log', 0o1777),
      v2.dirMode('secrets', 0o777),
      v2.fileMode(0o6777),
      v2.secretMode(0o644),
      v2.fileMode(0o640),
    ]).toEqual([0o755, 0o711, 0o755, 0o600, 0o640]);
    expect([v2.owner(0), v2.owner(65532), v2.owner(65534), v2.owner(999)]).toEqual([0, 65532, 0, 0]);
    expect(v2.narrowed).toBe(6);
    for (const d of [
      'config',
      'config/initdb',
      'log',
      'log/tile/0/x',
      'secrets',
      'tls',
      'templates',
      'trust',
      'tsa',
      'scripts',
    ])
      v2.checkDir(d);
    for (const d of ['tool', 'checkpoints', 'etc', 'config/x', 'secrets/x', 'db/x'])
      expectCode(() => v2.checkDir(d), 'BACKUP_ARCHIVE_CORRUPT');
    // Rekor v1 keeps no service tree of its own in a backup (the database is a dump).
    const v1 = restorePolicy(rekorV1Stack, 'b.tar');
    expectCode(() => v1.checkDir('log/tile'), 'BACKUP_ARCHIVE_CORRUPT');
  });
});

describe('swapping the restored instance in', () => {
  const fakeCompose = (failDown: boolean) => {
    const calls: string[] = [];
    const compose: Compose = {
      kind: 'v2-plugin',
      version: 'test',
      run: async (_project, _file, args) => {
        calls.push(args[0]!);
        if (failDown && args[0] === 'down')
          throw new AirgapError('COMPOSE_FAILED', 'docker compose down failed: Cannot connect to the Docker daemon');
        return { stdout: '', stderr: '' };
      },
      stream: async () => undefined,
    };
    return { compose, calls };
  };

  it('a failed compose down stops the restore with a coded error before anything is moved', async () => {
    const dir = tempDir();
    const inst = makeInstance(dir);
    const staged = path.join(dir, 'staged');
    mkdirSync(staged);
    writeFileSync(path.join(staged, 'state.json'), '{}');
    const before = readdirSync(dir).sort();
    const { compose, calls } = fakeCompose(true);
    const engine = openEngine({ compose });
    const e = await expectCodeAsync(
      () =>
        swapIn({
          engine,
          paths: instancePaths(inst.dataDir),
          stagedData: staged,
          existing: inst.state,
          forked: false,
          progress: silentProgress,
        }),
      'RESTORE_STOP_FAILED',
    );
    expect(e.exitCode).toBe(15);
    expect(e.message).toMatch(/nothing was moved, .* is as it was \(its services were started again\)/);
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(JSON.parse(readFileSync(path.join(inst.dataDir, 'state.json'), 'utf8')).instance).toBe('default');
    expect(existsSync(path.join(staged, 'state.json'))).toBe(true);
    expect(calls).toEqual(['down', 'up']);
  });

  it('after a clean stop, the previous instance goes aside and the staged one in', async () => {
    const dir = tempDir();
    const inst = makeInstance(dir);
    const staged = path.join(dir, 'staged');
    mkdirSync(staged);
    writeFileSync(path.join(staged, 'marker'), 'new');
    const { compose, calls } = fakeCompose(false);
    const engine = openEngine({ compose });
    const replaced = await swapIn({
      engine,
      paths: instancePaths(inst.dataDir),
      stagedData: staged,
      existing: inst.state,
      forked: false,
      progress: silentProgress,
    });
    expect(calls).toEqual(['down']);
    expect(readFileSync(path.join(inst.dataDir, 'marker'), 'utf8')).toBe('new');
    expect(existsSync(path.join(replaced!, 'state.json'))).toBe(true);
  });
});
