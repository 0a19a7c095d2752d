/**
 * The backup passphrase: --passphrase-file, else REKOR_AIRGAP_BACKUP_PASSPHRASE, else the instance's
 * own `secrets/backup-passphrase` (what the scheduled backup uses). Keep a copy off the host: a
 * restore on another machine needs it.
 */
import { promises as fsp } from 'node:fs';
import { AirgapError } from '../errors.js';

export const BACKUP_PASSPHRASE_ENV = 'REKOR_AIRGAP_BACKUP_PASSPHRASE';
const MIN_LENGTH = 12;

export async function readBackupPassphrase(file: string | undefined, instanceFile: string): Promise<string> {
  const read = async (f: string, optional: boolean): Promise<string | undefined> => {
    try {
      return (await fsp.readFile(f, 'utf8')).replace(/\r?\n$/, '');
    } catch (e) {
      if (optional && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new AirgapError(
        'BACKUP_PASSPHRASE_MISSING',
        `cannot read the passphrase file ${f}: ${(e as Error).message}`,
        { cause: e },
      );
    }
  };
  const env = process.env[BACKUP_PASSPHRASE_ENV];
  const pass = file ? await read(file, false) : env ? env : await read(instanceFile, true);
  if (pass === undefined) {
    throw new AirgapError(
      'BACKUP_PASSPHRASE_MISSING',
      `no backup passphrase: pass --passphrase-file FILE, set ${BACKUP_PASSPHRASE_ENV}, or create ${instanceFile} (0600) — and keep a copy off this host, a restore needs it`,
    );
  }
  if (pass.length < MIN_LENGTH)
    throw new AirgapError(
      'BACKUP_PASSPHRASE_MISSING',
      `the backup passphrase must have at least ${MIN_LENGTH} characters`,
    );
  return pass;
}
