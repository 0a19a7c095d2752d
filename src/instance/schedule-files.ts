/**
 * The instance's backup entry points, written at install: `scripts/backup.sh` and
 * `scripts/restore.sh` (they run this tool from the instance's `tool/`, the same code as the CLI),
 * a systemd service and timer, and a cron line. One implementation behind all of them.
 */
import path from 'node:path';
import type { InstancePaths } from './layout.js';
import { writeFileAtomic } from '../util/atomic-file.js';

export const DEFAULT_BACKUP_ROOT = '/var/backups/rekor-airgap';
export const DEFAULT_KEEP = 14;

/** A POSIX shell single-quoted word. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function backupUnitName(instance: string): string {
  return `rekor-airgap-backup-${instance}`;
}

export interface ScheduleFiles {
  backupSh: string;
  restoreSh: string;
  service: string;
  timer: string;
  cron: string;
}

export function scheduleFilePaths(p: InstancePaths, instance: string): ScheduleFiles {
  return {
    backupSh: path.join(p.scripts, 'backup.sh'),
    restoreSh: path.join(p.scripts, 'restore.sh'),
    service: path.join(p.config, `${backupUnitName(instance)}.service`),
    timer: path.join(p.config, `${backupUnitName(instance)}.timer`),
    cron: path.join(p.config, `${backupUnitName(instance)}.cron`),
  };
}

export function renderScheduleFiles(p: InstancePaths, instance: string): Record<keyof ScheduleFiles, string> {
  const tool = `${shq(p.toolNode)} ${shq(p.toolJs)}`;
  const target = `--instance ${shq(instance)} --data-dir ${shq(p.dataDir)}`;
  const outDir = path.join(DEFAULT_BACKUP_ROOT, instance);
  const files = scheduleFilePaths(p, instance);
  const scheduled = `${files.backupSh} --out-dir ${outDir} --keep ${DEFAULT_KEEP}`;
  return {
    backupSh: [
      '#!/bin/sh',
      `# Backup of rekor-airgap instance ${instance}: runs \`rekor-airgap backup\` from the instance's own copy of the tool.`,
      '#   ./backup.sh --out FILE.tar            one archive',
      `#   ./backup.sh --out-dir DIR --keep N    dated archives in DIR, the N newest kept`,
      "#   ./backup.sh ... --with HOOK           add a hook's output (e.g. pg_dump of your application store)",
      `# Secrets are sealed with the passphrase in ${p.backupPassphrase} (or --passphrase-file / REKOR_AIRGAP_BACKUP_PASSPHRASE).`,
      'set -eu',
      'umask 077',
      `exec ${tool} backup ${target} "$@"`,
      '',
    ].join('\n'),
    restoreSh: [
      '#!/bin/sh',
      `# Restore of rekor-airgap instance ${instance} from a backup archive: runs \`rekor-airgap restore\`.`,
      '#   ./restore.sh FILE.tar [--force-fork] [--with HOOK]',
      'set -eu',
      'umask 077',
      `exec ${tool} restore "$@" ${target}`,
      '',
    ].join('\n'),
    service: [
      '[Unit]',
      `Description=rekor-airgap backup of instance ${instance}`,
      'After=docker.service',
      'Wants=docker.service',
      '',
      '[Service]',
      'Type=oneshot',
      'UMask=0077',
      `ExecStart=${scheduled}`,
      '',
    ].join('\n'),
    timer: [
      '[Unit]',
      `Description=daily rekor-airgap backup of instance ${instance}`,
      '',
      '[Timer]',
      'OnCalendar=*-*-* 03:17:00',
      'RandomizedDelaySec=15m',
      'Persistent=true',
      '',
      '[Install]',
      'WantedBy=timers.target',
      '',
    ].join('\n'),
    cron: [
      `# rekor-airgap backup of instance ${instance}, daily at 03:17 (copy into /etc/cron.d/ when systemd timers are not used)`,
      `17 3 * * * root ${scheduled} >>/var/log/${backupUnitName(instance)}.log 2>&1`,
      '',
    ].join('\n'),
  };
}

export async function writeScheduleFiles(p: InstancePaths, instance: string): Promise<ScheduleFiles> {
  const files = scheduleFilePaths(p, instance);
  const text = renderScheduleFiles(p, instance);
  for (const k of Object.keys(files) as Array<keyof ScheduleFiles>) {
    await writeFileAtomic(files[k], text[k], k.endsWith('Sh') ? 0o755 : 0o644);
  }
  return files;
}
