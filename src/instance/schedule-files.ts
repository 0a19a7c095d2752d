/**
 * The instance's scheduled entry points, written at install: `scripts/backup.sh`,
 * `scripts/restore.sh` and `scripts/monitor.sh` (they run this tool from the instance's `tool/`,
 * the same code as the CLI), and for the backup (daily) and the monitor (every 5 minutes) a
 * systemd service and timer and a cron line. One implementation behind all of them.
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

export function monitorUnitName(instance: string): string {
  return `rekor-airgap-monitor-${instance}`;
}

/** Where the scheduled monitor writes its metrics (Prometheus text), in its state directory. */
export function monitorTextfile(p: InstancePaths): string {
  return path.join(p.dataDir, 'monitor', 'rekor-airgap-monitor.prom');
}

export interface ScheduleFiles {
  backupSh: string;
  restoreSh: string;
  service: string;
  timer: string;
  cron: string;
  monitorSh: string;
  monitorService: string;
  monitorTimer: string;
  monitorCron: string;
}

export function scheduleFilePaths(p: InstancePaths, instance: string): ScheduleFiles {
  return {
    backupSh: path.join(p.scripts, 'backup.sh'),
    restoreSh: path.join(p.scripts, 'restore.sh'),
    service: path.join(p.config, `${backupUnitName(instance)}.service`),
    timer: path.join(p.config, `${backupUnitName(instance)}.timer`),
    cron: path.join(p.config, `${backupUnitName(instance)}.cron`),
    monitorSh: path.join(p.scripts, 'monitor.sh'),
    monitorService: path.join(p.config, `${monitorUnitName(instance)}.service`),
    monitorTimer: path.join(p.config, `${monitorUnitName(instance)}.timer`),
    monitorCron: path.join(p.config, `${monitorUnitName(instance)}.cron`),
  };
}

export function renderScheduleFiles(p: InstancePaths, instance: string): Record<keyof ScheduleFiles, string> {
  const tool = `${shq(p.toolNode)} ${shq(p.toolJs)}`;
  const target = `--instance ${shq(instance)} --data-dir ${shq(p.dataDir)}`;
  return { ...backupFiles(p, instance, tool, target), ...monitorFiles(p, instance, tool, target) };
}

/** The backup, daily: `backup --out-dir DIR --keep 14`. */
function backupFiles(
  p: InstancePaths,
  instance: string,
  tool: string,
  target: string,
): Pick<ScheduleFiles, 'backupSh' | 'restoreSh' | 'service' | 'timer' | 'cron'> {
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

/**
 * The monitor, every 5 minutes: one run (`monitor --once`) that exits 18 on an alert, so systemd
 * marks the service failed (`OnFailure=` or `systemctl --failed` sees it) and cron mails it.
 */
function monitorFiles(
  p: InstancePaths,
  instance: string,
  tool: string,
  target: string,
): Pick<ScheduleFiles, 'monitorSh' | 'monitorService' | 'monitorTimer' | 'monitorCron'> {
  const files = scheduleFilePaths(p, instance);
  const scheduled = `${files.monitorSh} --once --quiet --textfile ${monitorTextfile(p)}`;
  return {
    monitorSh: [
      '#!/bin/sh',
      `# Monitor of rekor-airgap instance ${instance}: runs \`rekor-airgap monitor\` from the instance's own copy of the tool.`,
      '#   ./monitor.sh --once                          one run: exit 0 when all is well, 18 on an alert',
      '#   ./monitor.sh --once --watch-key signer.pub   also alert on entries signed by that key',
      "#   ./monitor.sh ... --alert-command 'CMD'       run CMD per new alert, the alert as JSON on its stdin",
      'set -eu',
      `exec ${tool} monitor ${target} "$@"`,
      '',
    ].join('\n'),
    monitorService: [
      '[Unit]',
      `Description=rekor-airgap monitor of instance ${instance}`,
      'After=docker.service',
      '',
      '[Service]',
      'Type=oneshot',
      `ExecStart=${scheduled}`,
      '',
    ].join('\n'),
    monitorTimer: [
      '[Unit]',
      `Description=rekor-airgap monitor of instance ${instance}, every 5 minutes`,
      '',
      '[Timer]',
      'OnCalendar=*:0/5',
      'RandomizedDelaySec=30s',
      '',
      '[Install]',
      'WantedBy=timers.target',
      '',
    ].join('\n'),
    monitorCron: [
      `# rekor-airgap monitor of instance ${instance}, every 5 minutes (copy into /etc/cron.d/ when systemd timers are not used)`,
      `*/5 * * * * root ${scheduled} >>/var/log/${monitorUnitName(instance)}.log 2>&1`,
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
