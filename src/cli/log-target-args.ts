/** The options that name a log: an installed instance, or a URL with its CA, key and origin. */
import { promises as fsp } from 'node:fs';
import type { Argv } from 'yargs';
import { AirgapError } from '../errors.js';
import type { LogTarget } from '../rekor/target.js';
import { STACK_KINDS } from '../stacks/kinds.js';
import { lastValue, timeoutMsOf } from './options.js';

export interface LogTargetArgs {
  instance?: string;
  dataDir?: string;
  url?: string;
  ca?: string;
  logKey?: string;
  origin?: string;
  kind: string;
  connectTo?: string;
  timeout?: number;
  witnessPolicy?: string;
}

/** The --timeout option of the commands that talk to a log (seconds for each request). */
export const TIMEOUT_OPTION = {
  coerce: lastValue,
  type: 'number',
  describe: 'seconds each request to the log may take, connect to last byte (default 60)',
} as const;

export function withLogTarget<T>(y: Argv<T>) {
  return y
    .option('instance', {
      coerce: lastValue,
      type: 'string',
      describe: 'an installed instance (reads its URL, CA, key and origin)',
    })
    .option('data-dir', { coerce: lastValue, type: 'string', describe: 'the instance directory, if not the default' })
    .option('url', {
      coerce: lastValue,
      type: 'string',
      describe: 'log URL, e.g. https://rekor.site.internal:3443 (with --ca, --log-key, --origin)',
    })
    .option('ca', { coerce: lastValue, type: 'string', describe: 'the only CA certificate (PEM) trusted for the log' })
    .option('log-key', { coerce: lastValue, type: 'string', describe: "the log's public key (PEM)" })
    .option('origin', {
      coerce: lastValue,
      type: 'string',
      describe: 'checkpoint origin (v2) or hostname (v1) of the log',
    })
    .option('kind', {
      coerce: lastValue,
      choices: [...STACK_KINDS],
      default: 'rekor-v2',
      describe: 'which stack serves the log at --url',
    })
    .option('connect-to', {
      coerce: lastValue,
      type: 'string',
      describe: "connect to this address instead of resolving the URL's host",
    })
    .option('timeout', TIMEOUT_OPTION)
    .option('witness-policy', {
      coerce: lastValue,
      type: 'string',
      describe:
        "witness policy (C2SP tlog-policy, e.g. the witness-policy.txt trust export writes): every checkpoint read must carry its quorum's cosignatures (default for --instance: the instance's own)",
    });
}

/** --witness-policy, read and parsed. */
async function readPolicyOption(file: string) {
  const { readWitnessPolicyFile } = await import('../instance/witnessing.js');
  return readWitnessPolicyFile(file, { followLinks: true });
}

export interface ResolvedTarget {
  target: LogTarget;
  kind: string;
  /** The installed instance's state, when the log was named by --instance. */
  state?: Awaited<ReturnType<typeof import('../instance/state.js').requireState>>;
}

export async function resolveLogTarget(args: LogTargetArgs): Promise<ResolvedTarget> {
  const timeoutMs = timeoutMsOf(args.timeout);
  if (args.url) {
    if (!args.ca || !args.logKey || !args.origin)
      throw new AirgapError('USAGE_SMOKE_TARGET', '--url needs --ca, --log-key and --origin');
    const read = (f: string, what: string) =>
      fsp.readFile(f, 'utf8').catch((e: Error) => {
        throw new AirgapError('USAGE_UNREADABLE', `cannot read ${what} ${f}: ${e.message}`);
      });
    return {
      kind: args.kind,
      target: {
        endpoint: { url: args.url, ca: await read(args.ca, '--ca'), connectAddress: args.connectTo, timeoutMs },
        logKeyPem: await read(args.logKey, '--log-key'),
        origin: args.origin,
        label: 'external',
        ...(args.witnessPolicy ? { witnessPolicy: await readPolicyOption(args.witnessPolicy) } : {}),
      },
    };
  }
  const { logTargetOf } = await import('../instance/log-target.js');
  const { requireState } = await import('../instance/state.js');
  const state = await requireState(args.instance ?? 'default', args.dataDir);
  const target = await logTargetOf(state);
  if (args.connectTo) target.endpoint.connectAddress = args.connectTo;
  if (timeoutMs) target.endpoint.timeoutMs = timeoutMs;
  if (args.witnessPolicy) target.witnessPolicy = await readPolicyOption(args.witnessPolicy);
  return { kind: state.kind, target, state };
}
