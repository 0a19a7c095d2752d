/**
 * Where commands write: results to `out` (JSON with --json), progress and errors to `err`. The app
 * puts the Io it was built with into every command's arguments; handlers never touch `process`.
 */
import { createProgress, type Progress } from '../util/progress.js';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** The error stream is a terminal (progress redraws a bar). */
  errIsTty: boolean;
  /** Terminal width for help text. */
  columns?: number | undefined;
}

export const processIo: Io = {
  out: (t) => {
    process.stdout.write(t);
  },
  err: (t) => {
    process.stderr.write(t);
  },
  errIsTty: Boolean(process.stderr.isTTY),
  columns: process.stdout.columns,
};

/** An Io that keeps what was written (tests). */
export function bufferIo(): Io & { stdout: () => string; stderr: () => string } {
  let o = '';
  let e = '';
  return {
    out: (t) => {
      o += t;
    },
    err: (t) => {
      e += t;
    },
    errIsTty: false,
    stdout: () => o,
    stderr: () => e,
  };
}

export interface CommonArgs {
  json?: boolean;
  quiet?: boolean;
  /** Injected by the app (not an option). */
  io: Io;
}

export function progressFor(args: CommonArgs): Progress {
  return createProgress({ quiet: Boolean(args.quiet), stream: { write: args.io.err, isTTY: args.io.errIsTty } });
}

export function printResult(args: CommonArgs, json: unknown, human: string): void {
  if (args.json) args.io.out(JSON.stringify(json, null, 2) + '\n');
  else args.io.out(human.endsWith('\n') ? human : human + '\n');
}
