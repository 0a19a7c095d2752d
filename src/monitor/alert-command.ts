/**
 * `--alert-command CMD`: the operator's command, run once per new alert with the event as JSON on
 * its standard input. Nothing the log served reaches the command line or the environment: the
 * command line is the operator's own (run by /bin/sh, so it may be a pipeline), the event only
 * arrives on standard input. A command that fails, outlives its timeout (its whole process group
 * is killed) or cannot start is reported; the monitor goes on.
 */
import { spawn } from 'node:child_process';
import type { AlertEvent } from './events.js';

export interface AlertDelivery {
  event: AlertEvent;
  ok: boolean;
  /** Why it failed: the exit code, the signal or the timeout, and the first of its stderr. */
  detail: string;
}

const STDERR_SHOWN = 500;

export function runAlertCommand(command: string, event: AlertEvent, timeoutMs: number): Promise<AlertDelivery> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { detached: true, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const done = (ok: boolean, why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const shown = stderr.trim().slice(0, STDERR_SHOWN);
      resolve({ event, ok, detail: ok ? 'delivered' : `the alert command ${why}${shown ? `: ${shown}` : ''}` });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole group: a pipeline's or a script's children go too.
      if (child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }, timeoutMs);
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < STDERR_SHOWN) stderr += c.toString('utf8');
    });
    child.on('error', (e) => done(false, `could not start: ${e.message}`));
    // 'exit', not 'close': a background child holding the pipes does not hold the monitor.
    // Its stderr is read until the pipes close, or a moment more.
    child.on('exit', (code, signal) => {
      const finish = () =>
        timedOut
          ? done(false, `did not finish within ${timeoutMs / 1000} s`)
          : code === 0
            ? done(true, '')
            : done(false, code !== null ? `exited ${code}` : `was killed by ${signal}`);
      const grace = setTimeout(finish, 200);
      child.on('close', () => {
        clearTimeout(grace);
        finish();
      });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(event) + '\n');
  });
}
