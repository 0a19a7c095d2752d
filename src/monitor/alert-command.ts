/**
 * `--alert-command CMD`: the operator's command, run once per new alert with the event as JSON on
 * its standard input. Nothing the log served reaches the command line or the environment: the
 * command line is the operator's own (run by /bin/sh, so it may be a pipeline), the event only
 * arrives on standard input. A command that fails, hangs past its timeout or cannot start is
 * reported; the monitor goes on.
 */
import { execa } from 'execa';
import type { AlertEvent } from './events.js';

export interface AlertDelivery {
  event: AlertEvent;
  ok: boolean;
  /** Why it failed: the exit code, the signal or the timeout, and the first of its stderr. */
  detail: string;
}

export async function runAlertCommand(command: string, event: AlertEvent, timeoutMs: number): Promise<AlertDelivery> {
  const r = await execa(command, {
    shell: '/bin/sh',
    input: JSON.stringify(event) + '\n',
    timeout: timeoutMs,
    reject: false,
    stdout: 'ignore',
    stripFinalNewline: true,
    maxBuffer: 64 * 1024,
  });
  if (!r.failed) return { event, ok: true, detail: 'delivered' };
  const stderr = String(r.stderr ?? '').slice(0, 500);
  const why = r.timedOut
    ? `did not finish within ${timeoutMs / 1000} s`
    : r.exitCode !== undefined
      ? `exited ${r.exitCode}`
      : r.signal
        ? `was killed by ${r.signal}`
        : `could not start: ${r.shortMessage ?? 'unknown'}`;
  return { event, ok: false, detail: `the alert command ${why}${stderr ? `: ${stderr}` : ''}` };
}
