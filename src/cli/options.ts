/** Option builders shared by several commands. */
import type { Argv } from 'yargs';
import { AirgapError } from '../errors.js';
import { parseMirrors } from '../ref/image-ref.js';
import type { RegistryAccess } from '../source/registry-source.js';

export function withCommon<T>(y: Argv<T>) {
  return y
    .option('json', { type: 'boolean', default: false, describe: 'print a machine-readable JSON result on stdout' })
    .option('quiet', { type: 'boolean', default: false, describe: 'no progress output on stderr' });
}

export function withRegistry<T>(y: Argv<T>) {
  return y
    .option('mirror', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe:
        'pull UPSTREAM through MIRROR, recording upstream names: --mirror ghcr.io=registry.internal:5000 (repeatable)',
    })
    .option('registry-ca', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'extra CA certificate (PEM) for HTTPS registries (repeatable)',
    })
    .option('insecure-registry', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'allow plain HTTP to this registry host:port (loopback is always allowed)',
    })
    .option('concurrency', { type: 'number', default: 4, describe: 'blobs downloaded in parallel' });
}

export async function registryAccessFrom(args: {
  mirror: string[];
  registryCa: string[];
  insecureRegistry: string[];
  concurrency: number;
}): Promise<RegistryAccess> {
  // Loaded when a command runs, not at start-up (it brings the registry client).
  const { readCaFiles } = await import('../source/registry-source.js');
  return {
    mirrors: parseMirrors(args.mirror),
    ca: await readCaFiles(args.registryCa),
    insecureRegistries: args.insecureRegistry,
    concurrency: Math.max(1, Math.floor(args.concurrency)),
  };
}

export function withTrust<T>(y: Argv<T>) {
  return y.option('trust', {
    type: 'string',
    array: true,
    default: [] as string[],
    describe: 'public key (PEM) trusted to sign bundles (repeatable, for key rotation)',
  });
}

export function withPassphrase<T>(y: Argv<T>) {
  return y.option('passphrase-file', {
    type: 'string',
    describe: 'file holding the signing key passphrase (else $REKOR_AIRGAP_PASSPHRASE; never a flag value)',
  });
}

/**
 * yargs' types know options by their kebab names only; handlers read the camelCase aliases yargs
 * also sets. This declares the handler's view once, at the builder.
 */
export function typed<A>(y: Argv<unknown>): Argv<A> {
  return y as unknown as Argv<A>;
}

/** For single-value options given twice (a script adding to an operator's line): the last one wins. */
export function lastValue<T>(v: T | T[]): T {
  return Array.isArray(v) ? (v[v.length - 1] as T) : v;
}

/** A --timeout in seconds as milliseconds (undefined: the command's default), or USAGE_BAD_TIMEOUT. */
export function timeoutMsOf(seconds: number | undefined): number | undefined {
  if (seconds === undefined) return undefined;
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400)
    throw new AirgapError('USAGE_BAD_TIMEOUT', `--timeout ${seconds} is not a number of seconds between 0 and 86400`);
  return Math.ceil(seconds * 1000);
}
