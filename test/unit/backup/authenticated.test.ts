/**
 * The passphrase authenticates the whole archive: backup.json's exact bytes are sealed with the
 * secrets, and nothing in it is used before they match. Real archives, written by the backup's
 * own code, edited the way someone holding the archive but not the passphrase would.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackupArchiveWriter, openBackupArchive } from '../../../src/backup/archive.js';
import {
  BACKUP_MANIFEST,
  BACKUP_SECRETS,
  parseBackupManifest,
  serializeBackupManifest,
  type BackupManifest,
} from '../../../src/backup/backup-manifest.js';
import { openSecrets, SECRETS_INDEX_MAX_BYTES } from '../../../src/backup/secrets-envelope.js';
import { runCli } from '../../../src/cli/app.js';
import { bufferIo } from '../../../src/cli/output.js';
import { ExitCode } from '../../../src/errors.js';
import { parseState } from '../../../src/instance/state.js';
import { tarFileHeader } from '../../../src/util/tar.js';
import {
  backupOf,
  makeInstance,
  PASS,
  readEntries,
  rewriteEntry,
  sealBytes,
  sealRaw,
  sha256,
  TEST_SCRYPT_LOG_N,
  writeEntries,
  type TarEntry,
} from '../../helpers/backup-fixture.js';
import { expectCode, expectCodeAsync } from '../../helpers/expect-code.js';
import { tempDir } from '../../helpers/fixtures.js';
import { RUNS } from '../../helpers/fuzz.js';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = bufferIo();
  const code = await runCli(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

/** Every path under `dir` with its mode, owner and content digest: "untouched" means equal snapshots. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = path.join(d, name);
      const st = lstatSync(full);
      out.push(
        `${path.relative(dir, full)} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.isFile() ? sha256(readFileSync(full)) : ''}`,
      );
      if (st.isDirectory()) walk(full);
    }
  };
  walk(dir);
  return out;
}

/** Replaces backup.json and the sealed part: what an archive says, sealed with `index` (secrets.json) as given. */
async function withSealedIndex(archive: string, out: string, index: unknown, manifest?: Buffer): Promise<string> {
  const entries = await readEntries(archive);
  const m = manifest ?? entries.find((e) => e.path === BACKUP_MANIFEST)!.bytes;
  const files: TarEntry[] = [
    {
      path: 'secrets.json',
      bytes: Buffer.from(JSON.stringify(typeof index === 'function' ? index(sha256(m)) : index)),
    },
  ];
  const sealed = await sealRaw(files);
  return writeEntries(
    out,
    entries.map((e) =>
      e.path === BACKUP_SECRETS
        ? { path: e.path, bytes: sealed }
        : e.path === BACKUP_MANIFEST
          ? { path: e.path, bytes: m }
          : e,
    ),
  );
}

describe('backup.json is authenticated by the passphrase', () => {
  it('an archive whose backup.json differs in any one byte from what the backup wrote is refused before it is parsed', async () => {
    const dir = tempDir();
    const archive = await backupOf(makeInstance(dir), path.join(dir, 'b.tar'));
    expect((await openBackupArchive(archive, PASS)).manifest.checkpoint?.size).toBe(3);
    const bytes = readFileSync(archive);
    const manifest = (await readEntries(archive)).find((e) => e.path === BACKUP_MANIFEST)!.bytes;
    // backup.json is the last entry: its content ends where its padding and the end blocks begin.
    const at = bytes.length - 1024 - ((512 - (manifest.length % 512)) % 512) - manifest.length;
    expect(bytes.subarray(at, at + manifest.length).equals(manifest)).toBe(true);
    const tampered = path.join(dir, 'one-byte.tar');
    // Under `npm run fuzz`: every byte outside the list of files, and every fifth inside it (each
    // file is also pinned by its own digest there; its mode and owner are not), some 1,800
    // archives. Otherwise every ninth byte, spread over every field.
    const files = [manifest.indexOf('"files": ['), manifest.indexOf('"dirs": [')];
    expect(files[0]).toBeGreaterThan(0);
    const exhaustive = RUNS > 300;
    let tried = 0;
    for (let i = 0; i < manifest.length; i++) {
      if (exhaustive ? i > files[0]! && i < files[1]! && i % 5 : i % 9) continue;
      tried++;
      const t = Buffer.from(bytes);
      t[at + i] = t[at + i]! ^ (i % 2 ? 0x01 : 0x04);
      writeFileSync(tampered, t);
      const e = await expectCodeAsync(() => openBackupArchive(tampered, PASS), 'BACKUP_ARCHIVE_CORRUPT');
      expect(e.message, `byte ${i}`).toMatch(/backup\.json is not the one the passphrase vouches for/);
    }
    expect(tried).toBeGreaterThan(manifest.length / (exhaustive ? 3 : 10));
    // One byte more or less (the tar header's size changes with it).
    for (const edit of [(b: Buffer) => Buffer.concat([b, Buffer.from(' ')]), (b: Buffer) => b.subarray(0, -1)]) {
      await rewriteEntry(archive, tampered, BACKUP_MANIFEST, edit);
      await expectCodeAsync(() => openBackupArchive(tampered, PASS), 'BACKUP_ARCHIVE_CORRUPT');
    }
  }, 120_000);

  it('the edits of the attack (world-writable directories, owner nobody, a new directory, another checkpoint) fail verify and restore with exit 15, and nothing is touched', async () => {
    const dir = tempDir();
    const inst = makeInstance(dir);
    const archive = await backupOf(inst, path.join(dir, 'b.tar'));
    const edited = await rewriteEntry(archive, path.join(dir, 'edited.tar'), BACKUP_MANIFEST, (b) => {
      const m = JSON.parse(b.toString()) as BackupManifest;
      for (const d of m.dirs) Object.assign(d, { mode: d.path === 'log' ? 0o1777 : 0o777, uid: 65534, gid: 65534 });
      m.dirs.push({ path: 'etc/cron.d', mode: 0o777, uid: 0, gid: 0 });
      m.checkpoint!.size = 4;
      return serializeBackupManifest(m);
    });
    const passFile = path.join(dir, 'pass');
    writeFileSync(passFile, PASS);
    const verify = await cli(['backup', 'verify', edited, '--passphrase-file', passFile]);
    expect(verify.code, verify.err).toBe(ExitCode.BACKUP);
    expect(verify.err).toMatch(
      /error \[BACKUP_ARCHIVE_CORRUPT\]: .*backup\.json is not the one the passphrase vouches for/,
    );
    // No checkpoint printed from an archive that did not authenticate.
    expect(verify.out).toBe('');
    const before = snapshot(dir);
    const restore = await cli([
      'restore',
      edited,
      '--instance',
      'default',
      '--data-dir',
      inst.dataDir,
      '--passphrase-file',
      passFile,
    ]);
    expect(restore.code, restore.err).toBe(ExitCode.BACKUP);
    expect(restore.err).toContain('BACKUP_ARCHIVE_CORRUPT');
    expect(snapshot(dir)).toEqual(before);
    // The untampered archive verifies and prints its (now authenticated) checkpoint.
    const ok = await cli(['backup', 'verify', archive, '--passphrase-file', passFile]);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toContain(`checkpoint of tree size 3, root ${inst.head.rootHex}`);
  }, 60_000);

  it('an archive of the previous format (its passphrase vouched for the files, not backup.json) is refused with a coded message saying what to do', async () => {
    const dir = tempDir();
    const archive = await backupOf(makeInstance(dir), path.join(dir, 'b.tar'));
    // What rekor-airgap-backup/1 wrote: the digest of the plain files' list, no digest of backup.json.
    const m = JSON.parse(
      (await readEntries(archive)).find((e) => e.path === BACKUP_MANIFEST)!.bytes.toString(),
    ) as Record<string, unknown>;
    const legacy = await withSealedIndex(
      archive,
      path.join(dir, 'legacy.tar'),
      { plainFilesSha256: 'a'.repeat(64), files: [] },
      Buffer.from(JSON.stringify({ ...m, format: 'rekor-airgap-backup/1' }, null, 2)),
    );
    const passFile = path.join(dir, 'pass');
    writeFileSync(passFile, PASS);
    const r = await cli(['backup', 'verify', legacy, '--passphrase-file', passFile]);
    expect(r.code).toBe(ExitCode.BACKUP);
    expect(r.err).toMatch(
      /error \[BACKUP_FORMAT_UNAUTHENTICATED\]: .*Take a new backup with this rekor-airgap; to recover from this archive itself, restore it with the rekor-airgap release that wrote it/,
    );
  }, 30_000);

  it('the sealed part may not be swapped for one sealed with the same passphrase over another backup.json', async () => {
    const dir = tempDir();
    const a = await backupOf(makeInstance(dir, 'a'), path.join(dir, 'a.tar'));
    const b = await backupOf(makeInstance(dir, 'b'), path.join(dir, 'b.tar'));
    const sealedOfB = (await readEntries(b)).find((e) => e.path === BACKUP_SECRETS)!.bytes;
    const mixed = await rewriteEntry(a, path.join(dir, 'mixed.tar'), BACKUP_SECRETS, () => sealedOfB);
    const e = await expectCodeAsync(() => openBackupArchive(mixed, PASS), 'BACKUP_ARCHIVE_CORRUPT');
    expect(e.message).toMatch(/not the one the passphrase vouches for/);
  }, 30_000);
});

describe('authenticated content that is malformed is a coded error (exit 15), never a TypeError', () => {
  it('a state.json without images', async () => {
    const dir = tempDir();
    const inst = makeInstance(dir);
    const state = JSON.parse(readFileSync(path.join(inst.dataDir, 'state.json'), 'utf8')) as Record<string, unknown>;
    delete state.images;
    writeFileSync(path.join(inst.dataDir, 'state.json'), JSON.stringify(state));
    const archive = await backupOf(inst, path.join(dir, 'b.tar'));
    const passFile = path.join(dir, 'pass');
    writeFileSync(passFile, PASS);
    const target = path.join(dir, 'restored');
    const r = await cli([
      'restore',
      archive,
      '--instance',
      'restored',
      '--data-dir',
      target,
      '--passphrase-file',
      passFile,
    ]);
    expect(r.code, r.err).toBe(ExitCode.BACKUP);
    expect(r.err).toMatch(/error \[BACKUP_ARCHIVE_CORRUPT\]: .*state\.json: images is not an object/);
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.startsWith('restored.'))).toEqual([]);
    expectCode(
      () =>
        parseState(JSON.stringify({ ...state, images: { rekor: null } }), {
          what: 'state.json',
          code: 'BACKUP_ARCHIVE_CORRUPT',
        }),
      'BACKUP_ARCHIVE_CORRUPT',
    );
    expectCode(() => parseState('[]', { what: 'state.json', code: 'INSTALL_STATE_CORRUPT' }), 'INSTALL_STATE_CORRUPT');
  }, 30_000);

  it('a secrets.json listing null, a number, or an unlisted entry', async () => {
    const dir = tempDir();
    const archive = await backupOf(makeInstance(dir), path.join(dir, 'b.tar'));
    for (const files of [
      [null],
      [1],
      'x',
      [{ path: 'secrets.json', mode: 384, uid: 0, gid: 0, sha256: 'a'.repeat(64) }],
    ]) {
      const bad = await withSealedIndex(archive, path.join(dir, 'bad.tar'), (sha: string) => ({
        format: 'rekor-airgap-backup/2',
        manifestSha256: sha,
        files,
      }));
      await expectCodeAsync(() => openBackupArchive(bad, PASS), 'BACKUP_ARCHIVE_CORRUPT');
    }
    const unlisted = await sealRaw([
      {
        path: 'secrets.json',
        bytes: Buffer.from(
          JSON.stringify({ format: 'rekor-airgap-backup/2', manifestSha256: 'a'.repeat(64), files: [] }),
        ),
      },
      { path: 'secrets/extra', bytes: Buffer.from('x') },
    ]);
    const e = await expectCodeAsync(() => openSecrets(unlisted, PASS, 'x.tar'), 'BACKUP_ARCHIVE_CORRUPT');
    expect(e.message).toMatch(/secrets\/extra is not listed/);
  }, 30_000);

  it('kind "__proto__" (or any kind this tool does not run) is exit 15, not a usage error', async () => {
    const dir = tempDir();
    const archive = await backupOf(makeInstance(dir), path.join(dir, 'b.tar'));
    const entries = await readEntries(archive);
    const m = JSON.parse(entries.find((e) => e.path === BACKUP_MANIFEST)!.bytes.toString()) as BackupManifest;
    const passFile = path.join(dir, 'pass');
    writeFileSync(passFile, PASS);
    for (const kind of ['__proto__', 'constructor', 'rekor-v3']) {
      // Sealed properly: the passphrase vouches for it, so the kind itself must be refused.
      const w = await BackupArchiveWriter.open(path.join(dir, `${kind}.tar`));
      for (const e of entries.filter((x) => x.path !== BACKUP_SECRETS && x.path !== BACKUP_MANIFEST))
        await w.addBytes(e.path, e.bytes, { mode: 0o600, uid: 0, gid: 0 }, false);
      await w.seal(
        { ...m, kind: kind as BackupManifest['kind'] },
        (await openBackupArchive(archive, PASS)).secrets,
        PASS,
        TEST_SCRYPT_LOG_N,
      );
      const r = await cli(['backup', 'verify', path.join(dir, `${kind}.tar`), '--passphrase-file', passFile]);
      expect(r.code, r.err).toBe(ExitCode.BACKUP);
      expect(r.err).toContain('BACKUP_WRONG_STACK');
    }
  }, 30_000);
});

describe('sizes and nesting of what is read from an archive are capped before it is read', () => {
  it('a backup.json or secrets.json larger than its cap is refused on its tar header, before its bytes are kept', async () => {
    const dir = tempDir();
    // A header announcing 1 GiB of backup.json, and nothing after it: refused on the header alone.
    writeFileSync(
      path.join(dir, 'huge.tar'),
      Buffer.concat([tarFileHeader(BACKUP_MANIFEST, 1024 ** 3, 0o600, 0), Buffer.alloc(4096)]),
    );
    const e = await expectCodeAsync(
      () => openBackupArchive(path.join(dir, 'huge.tar'), PASS),
      'BACKUP_ARCHIVE_CORRUPT',
    );
    expect(e.message).toMatch(/backup\.json is 1073741824 bytes, more than the \d+ allowed/);
    // Inside the sealed part: a secrets.json header announcing 1 GiB, and nothing after it.
    const sealed = await sealBytes(
      Buffer.concat([tarFileHeader('secrets.json', 1024 ** 3, 0o600, 0), Buffer.alloc(1024)]),
    );
    const e2 = await expectCodeAsync(() => openSecrets(sealed, PASS, 'x.tar'), 'BACKUP_ARCHIVE_CORRUPT');
    expect(e2.message).toMatch(/secrets\.json is 1073741824 bytes, more than the \d+ allowed/);
    // And one that is there in full, just over the cap.
    const index = Buffer.alloc(SECRETS_INDEX_MAX_BYTES + 1, 0x20);
    const full = await sealRaw([{ path: 'secrets.json', bytes: index }]);
    await expectCodeAsync(() => openSecrets(full, PASS, 'x.tar'), 'BACKUP_ARCHIVE_CORRUPT');
  }, 30_000);

  it('deeply nested JSON, even sealed with the right passphrase, is refused by a scan, not a parse', async () => {
    const dir = tempDir();
    const archive = await backupOf(makeInstance(dir), path.join(dir, 'b.tar'));
    const deep = Buffer.from('['.repeat(4 * 1024 * 1024) + ']'.repeat(4 * 1024 * 1024));
    // Sealed with the passphrase over the nested backup.json: it authenticates, and must still cost a scan only.
    const nested = await withSealedIndex(
      archive,
      path.join(dir, 'deep.tar'),
      (sha: string) => ({ format: 'rekor-airgap-backup/2', manifestSha256: sha, files: [] }),
      deep,
    );
    const t0 = Date.now();
    const e = await expectCodeAsync(() => openBackupArchive(nested, PASS), 'BACKUP_ARCHIVE_CORRUPT');
    expect(e.message).toMatch(/nests deeper than 64 levels/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const deepIndex = await sealRaw([{ path: 'secrets.json', bytes: Buffer.from(`{"files":${'['.repeat(100_000)}`) }]);
    expect(
      (await expectCodeAsync(() => openSecrets(deepIndex, PASS, 'x.tar'), 'BACKUP_ARCHIVE_CORRUPT')).message,
    ).toMatch(/nests deeper/);
    expect(() => parseBackupManifest(deep)).toThrow(/nests deeper/);
    expect(statSync(nested).size).toBeGreaterThan(8 * 1024 * 1024);
  }, 60_000);
});
