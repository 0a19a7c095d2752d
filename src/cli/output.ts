/** Where commands write: results to stdout (JSON with --json), progress and errors to stderr. */
import { createProgress, type Progress } from '../util/progress.js';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

export interface CommonArgs {
  json?: boolean;
  quiet?: boolean;
}

export function progressFor(args: CommonArgs): Progress {
  return createProgress({ quiet: Boolean(args.quiet) });
}

export function printResult(io: Io, args: CommonArgs, json: unknown, human: string): void {
  if (args.json) io.out(JSON.stringify(json, null, 2) + '\n');
  else io.out(human.endsWith('\n') ? human : human + '\n');
}
