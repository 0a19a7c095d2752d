import type { Argv, CommandModule } from 'yargs';
import { exitCodesEpilogue } from './exit-codes.js';

export interface AppOptions {
  /** Parse and validate only: handlers are not run (tests check what a command line means). */
  parseOnly?: boolean;
  /** With parseOnly: receives the arguments a command's handler would have run with. */
  onParsed?: (args: Record<string, unknown>) => void;
}

/**
 * A command as the app registers it: its help ends with the exit-code table; with parseOnly, its
 * handler is replaced by one that hands the parsed arguments to `onParsed`.
 */
export function guarded<T extends CommandModule>(c: T, opts: AppOptions): T {
  const builder = c.builder;
  const withEpilogue = {
    ...c,
    builder: (y: Argv) => {
      const built = typeof builder === 'function' ? builder(y) : builder ? y.options(builder) : y;
      return (built as Argv).epilogue(exitCodesEpilogue());
    },
  } as T;
  return opts.parseOnly
    ? {
        ...withEpilogue,
        handler: (args: Record<string, unknown>) => {
          opts.onParsed?.(args);
        },
      }
    : withEpilogue;
}
