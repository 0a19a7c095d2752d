import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackupArchiveWriter, openBackupArchive } from '../../../src/backup/archive.js';
import { BACKUP_FORMAT, BACKUP_SECRETS, type BackupManifest } from '../../../src/backup/backup-manifest.js';
import { PASS, readEntries, TEST_SCRYPT_LOG_N, writeEntries } from '../../helpers/backup-fixture.js';
import { tempDir } from '../../helpers/fixtures.js';

/** Writes a small archive the way `backup` does: files, sealed secrets, backup.json last. */
async function writeArchive(
  dir: string,
  files: Record<string, string>,
): Promise<{ file: string; manifest: BackupManifest }> {
  const src = path.join(dir, 'src');
  const out = path.join(dir, 'b.tar');
  const w = await BackupArchiveWriter.open(out);
  for (const [rel, text] of Object.entries(files)) {
    const f = path.join(src, rel);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, text);
    await w.addFile(`data/${rel}`, f, statSync(f));
  }
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    createdAt: new Date().toISOString(),
    tool: 'test',
    instance: 'default',
    profile: 'rekor-v2',
    kind: 'rekor-v2',
    origin: 'log.example',
    logKeyId: 'a'.repeat(64),
    checkpoint: { size: 1, rootHex: 'b'.repeat(64), note: 'n' },
    files: w.files,
    dirs: [],
    secrets: { path: BACKUP_SECRETS, files: 1 },
    hooks: [],
    dumps: [],
  };
  // A low scrypt work factor keeps the unit suite fast; backups use age's default (2^18).
  await w.seal(
    manifest,
    [{ path: 'secrets/key.pem', bytes: Buffer.from('KEY'), mode: 0o600, uid: 0, gid: 0 }],
    PASS,
    TEST_SCRYPT_LOG_N,
  );
  return { file: out, manifest };
}

describe('backup archive', () => {
  it('round-trips: files staged with their bytes, secrets open with the passphrase and vouch for the files', async () => {
    const dir = tempDir();
    const { file } = await writeArchive(dir, {
      'log/checkpoint': 'cp',
      'log/tile/0/000.p/1': 'x'.repeat(1000),
      'state.json': '{}',
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const staging = path.join(dir, 'staging');
    mkdirSync(staging);
    const read = await openBackupArchive(file, PASS, staging);
    expect(read.manifest.files.map((f) => f.path)).toEqual([
      'data/log/checkpoint',
      'data/log/tile/0/000.p/1',
      'data/state.json',
    ]);
    expect(readFileSync(path.join(staging, 'data/log/tile/0/000.p/1'), 'utf8')).toBe('x'.repeat(1000));
    expect(read.secrets.map((f) => [f.path, f.bytes.toString()])).toEqual([['secrets/key.pem', 'KEY']]);
    // backup.json is last, right after the sealed part.
    expect((await readEntries(file)).map((e) => e.path).slice(-2)).toEqual([BACKUP_SECRETS, 'backup.json']);
  }, 30_000);

  it('names a damaged file, a truncated archive, and a wrong passphrase', async () => {
    const dir = tempDir();
    const { file } = await writeArchive(dir, { 'log/checkpoint': 'checkpoint text', 'state.json': '{}' });
    const bytes = readFileSync(file);
    const damaged = Buffer.from(bytes);
    damaged[512 + 3] = damaged[512 + 3]! ^ 1;
    writeFileSync(path.join(dir, 'damaged.tar'), damaged);
    await expect(openBackupArchive(path.join(dir, 'damaged.tar'), PASS)).rejects.toThrow(
      /data\/log\/checkpoint is damaged/,
    );
    writeFileSync(path.join(dir, 'short.tar'), bytes.subarray(0, bytes.length - 3000));
    await expect(openBackupArchive(path.join(dir, 'short.tar'), PASS)).rejects.toMatchObject({
      code: 'BACKUP_ARCHIVE_CORRUPT',
    });
    await expect(openBackupArchive(file, 'not the passphrase')).rejects.toMatchObject({
      code: 'BACKUP_PASSPHRASE_WRONG',
    });
  }, 30_000);

  it('refuses an entry that is not listed, and one that would land outside the staging directory', async () => {
    const dir = tempDir();
    const { file, manifest } = await writeArchive(dir, { 'state.json': '{}' });
    // An entry added to the archive, which backup.json does not list.
    const entries = await readEntries(file);
    writeEntries(path.join(dir, 'unlisted.tar'), [{ path: 'data/extra.json', bytes: Buffer.from('{}') }, ...entries]);
    await expect(openBackupArchive(path.join(dir, 'unlisted.tar'), PASS)).rejects.toThrow(
      /data\/extra.json is not listed/,
    );
    const evil = await BackupArchiveWriter.open(path.join(dir, 'evil.tar'));
    await evil.addBytes('data/../../escape', Buffer.from('x'), { mode: 0o600, uid: 0, gid: 0 });
    await evil.seal(manifest, [], PASS, TEST_SCRYPT_LOG_N);
    const staging = path.join(dir, 'staging');
    mkdirSync(staging);
    await expect(openBackupArchive(path.join(dir, 'evil.tar'), PASS, staging)).rejects.toMatchObject({
      code: 'BACKUP_ARCHIVE_CORRUPT',
    });
    // Nothing landed where the entry points (staging/data/../../escape is beside staging), nor in it.
    expect(existsSync(path.join(dir, 'escape'))).toBe(false);
    expect(readdirSync(staging)).toEqual([]);
  }, 30_000);
});
