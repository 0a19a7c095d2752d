import type { CommandModule } from 'yargs';

export interface AppOptions {
  /** Parse and validate only: handlers are not run (tests check what a command line means). */
  parseOnly?: boolean;
}

/** With parseOnly, a command's handler is replaced by one that does nothing. */
export function guarded<T extends CommandModule>(c: T, opts: AppOptions): T {
  return opts.parseOnly ? { ...c, handler: () => undefined } : c;
}
