import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackupArchiveWriter, readBackupArchive } from '../../../src/backup/archive.js';
import { BACKUP_FORMAT, BACKUP_SECRETS, plainFilesDigestInput, type BackupManifest } from '../../../src/backup/backup-manifest.js';
import { openSecrets, sealSecrets } from '../../../src/backup/secrets-envelope.js';
import { tempDir } from '../../helpers/fixtures.js';

const PASS = 'correct horse battery staple';

/** Writes a small archive the way `backup` does: files, sealed secrets, backup.json last. */
async function writeArchive(dir: string, files: Record<string, string>): Promise<{ file: string; manifest: BackupManifest }> {
  const src = path.join(dir, 'src');
  const out = path.join(dir, 'b.tar');
  const w = await BackupArchiveWriter.open(out);
  for (const [rel, text] of Object.entries(files)) {
    const f = path.join(src, rel);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, text);
    await w.addFile(`data/${rel}`, f, statSync(f));
  }
  const digest = createHash('sha256').update(plainFilesDigestInput(w.files)).digest('hex');
  // A low scrypt work factor keeps the unit suite fast; backups use age's default (2^18).
  const sealed = await sealSecrets([{ path: 'secrets/key.pem', bytes: Buffer.from('KEY'), mode: 0o600, uid: 0, gid: 0 }], digest, PASS, 10);
  const sha = await w.addBytes(BACKUP_SECRETS, sealed, { mode: 0o600, uid: 0, gid: 0 }, false);
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT, createdAt: new Date().toISOString(), tool: 'test', instance: 'default', profile: 'rekor-v2', kind: 'rekor-v2', origin: 'log.example',
    logKeyId: 'a'.repeat(64), checkpoint: { size: 1, rootHex: 'b'.repeat(64), note: 'n' }, files: w.files, dirs: [],
    secrets: { path: BACKUP_SECRETS, size: sealed.length, sha256: sha, files: 1 }, hooks: [], dumps: [],
  };
  await w.finish(manifest);
  return { file: out, manifest };
}

describe('backup archive', () => {
  it('round-trips: files staged with their bytes, secrets open with the passphrase and vouch for the files', async () => {
    const dir = tempDir();
    const { file } = await writeArchive(dir, { 'log/checkpoint': 'cp', 'log/tile/0/000.p/1': 'x'.repeat(1000), 'state.json': '{}' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const staging = path.join(dir, 'staging');
    mkdirSync(staging);
    const read = await readBackupArchive(file, staging);
    expect(read.manifest.files.map((f) => f.path)).toEqual(['data/log/checkpoint', 'data/log/tile/0/000.p/1', 'data/state.json']);
    expect(readFileSync(path.join(staging, 'data/log/tile/0/000.p/1'), 'utf8')).toBe('x'.repeat(1000));
    const secrets = await openSecrets(read.sealedSecrets, PASS, file);
    expect(secrets.files.map((f) => [f.path, f.bytes.toString()])).toEqual([['secrets/key.pem', 'KEY']]);
    expect(secrets.plainFilesSha256).toBe(createHash('sha256').update(plainFilesDigestInput(read.manifest.files)).digest('hex'));
  }, 30_000);

  it('names a damaged file, a truncated archive, and a wrong passphrase', async () => {
    const dir = tempDir();
    const { file } = await writeArchive(dir, { 'log/checkpoint': 'checkpoint text', 'state.json': '{}' });
    const bytes = readFileSync(file);
    const damaged = Buffer.from(bytes);
    damaged[512 + 3] = damaged[512 + 3]! ^ 1;
    writeFileSync(path.join(dir, 'damaged.tar'), damaged);
    await expect(readBackupArchive(path.join(dir, 'damaged.tar'))).rejects.toThrow(/data\/log\/checkpoint is damaged/);
    writeFileSync(path.join(dir, 'short.tar'), bytes.subarray(0, bytes.length - 3000));
    await expect(readBackupArchive(path.join(dir, 'short.tar'))).rejects.toMatchObject({ code: 'BACKUP_ARCHIVE_CORRUPT' });
    const read = await readBackupArchive(file);
    await expect(openSecrets(read.sealedSecrets, 'not the passphrase', file)).rejects.toMatchObject({ code: 'BACKUP_PASSPHRASE_WRONG' });
  }, 30_000);

  it('refuses an entry that is not listed, and one that would land outside the staging directory', async () => {
    const dir = tempDir();
    const { file, manifest } = await writeArchive(dir, { 'state.json': '{}' });
    // Rewrite backup.json without its one file: that file is then unlisted.
    const w = await BackupArchiveWriter.open(path.join(dir, 'unlisted.tar'));
    const f = path.join(dir, 'src/state.json');
    await w.addFile('data/state.json', f, statSync(f));
    await w.addBytes(BACKUP_SECRETS, (await readBackupArchive(file)).sealedSecrets, { mode: 0o600, uid: 0, gid: 0 }, false);
    await w.finish({ ...manifest, files: [] });
    await expect(readBackupArchive(path.join(dir, 'unlisted.tar'))).rejects.toThrow(/data\/state.json is not listed/);
    const evil = await BackupArchiveWriter.open(path.join(dir, 'evil.tar'));
    await evil.addBytes('data/../../escape', Buffer.from('x'), { mode: 0o600, uid: 0, gid: 0 });
    await evil.finish(manifest);
    const staging = path.join(dir, 'staging');
    mkdirSync(staging);
    await expect(readBackupArchive(path.join(dir, 'evil.tar'), staging)).rejects.toMatchObject({ code: 'BACKUP_ARCHIVE_CORRUPT' });
    expect(file).toBeTruthy();
  }, 30_000);
});
