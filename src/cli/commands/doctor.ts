import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { AirgapError } from '../../errors.js';
import { printResult, type CommonArgs } from '../output.js';
import { lastValue, timeoutMsOf, typed, withCommon } from '../options.js';
import { TIMEOUT_OPTION } from '../log-target-args.js';

interface Args extends CommonArgs {
  url?: string;
  trustDir: string;
  ca?: string;
  write: boolean;
  timeout?: number;
}

/** witness-policy.txt beside the trust files, when the log has witnesses. */
async function readTrustWitnessPolicy(dir: string) {
  const { readOptionalWitnessPolicyFile } = await import('../../instance/witnessing.js');
  return readOptionalWitnessPolicyFile(path.join(dir, 'witness-policy.txt'), { followLinks: true });
}

export const doctorCommand = {
  command: 'doctor',
  describe:
    'from a client host: check the way to the log step by step (URL, DNS, TCP, TLS, health, key, a test entry, the TSA), naming the cause and the fix of what fails',
  builder: (y) =>
    typed<Args>(
      withCommon(y)
        .option('url', { coerce: lastValue, type: 'string', describe: 'the log URL (default: $AEVUM_REKOR_URL)' })
        .option('trust-dir', {
          coerce: lastValue,
          type: 'string',
          default: '.',
          describe:
            'directory with trusted_root.json, signing_config.json, ca.crt and, for a witnessed log, witness-policy.txt (what trust export writes)',
        })
        .option('ca', {
          coerce: lastValue,
          type: 'string',
          describe: 'the CA certificate for TLS (default: TRUST_DIR/ca.crt)',
        })
        .option('write', {
          type: 'boolean',
          default: true,
          describe: 'submit a test entry and verify its proofs (--no-write: read-only checks)',
        })
        .option('timeout', {
          ...TIMEOUT_OPTION,
          describe:
            'seconds each check may take: a connection (default 10) or a request to the log, connect to last byte (default 60)',
        })
        .example('AEVUM_REKOR_URL=https://rekor.site.internal:3443 $0 doctor --trust-dir ./client-trust', ''),
    ),
  handler: async (args) => {
    const timeoutMs = timeoutMsOf(args.timeout);
    const { runDoctor, doctorFailure } = await import('../../rekor/doctor.js');
    const { logStackFor } = await import('../../stacks/registry.js');
    const { isMissingFile, readRegularFile, SMALL_JSON_LIMIT } = await import('../../util/bounded-read.js');
    const { readUntrustedJson } = await import('../../util/untrusted-json.js');
    const read = async (f: string) => fsp.readFile(f, 'utf8').catch(() => undefined);
    // The trust files are read like any outside JSON: regular files, size and nesting capped. A
    // link is followed: a client in a pod gets them from a ConfigMap mount, whose files are links.
    const trustJson = async (name: string) => {
      const file = path.join(args.trustDir, name);
      let bytes: Buffer;
      try {
        bytes = await readRegularFile(file, SMALL_JSON_LIMIT, 'USAGE_UNREADABLE', name, { followLinks: true });
      } catch (e) {
        if (isMissingFile(e)) return undefined;
        throw e;
      }
      return readUntrustedJson(bytes, { what: file, code: 'USAGE_UNREADABLE' });
    };
    const root = await trustJson('trusted_root.json');
    if (!root)
      throw new AirgapError(
        'USAGE_UNREADABLE',
        `no trusted_root.json in ${path.resolve(args.trustDir)}: pass --trust-dir with the files rekor-airgap trust export wrote`,
      );
    const trustedRoot = root.raw;
    // No signing_config.json: a Rekor v2 log. One that is there decides, and must be readable.
    const sc = await trustJson('signing_config.json');
    const tlog = sc ? sc.at('rekorTlogUrls').optList()[0] : undefined;
    const apiVersion: 1 | 2 = tlog?.isObject && tlog.at('majorApiVersion').raw === 1 ? 1 : 2;
    const stack = logStackFor(apiVersion === 1 ? 'rekor-v1' : 'rekor-v2');
    const witnessPolicy = await readTrustWitnessPolicy(args.trustDir);
    const checks = await runDoctor({
      ...(witnessPolicy ? { witnessPolicy } : {}),
      url: args.url ?? process.env.AEVUM_REKOR_URL,
      caPem: await read(args.ca ?? path.join(args.trustDir, 'ca.crt')),
      trustedRoot,
      apiVersion,
      write: args.write,
      smoke: (t) => stack.smoke(t),
      readHead: (t) => stack.readHead(t),
      timeoutMs,
    });
    const failure = doctorFailure(checks);
    printResult(
      args,
      { ok: !failure, checks },
      [
        ...checks.map(
          (c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}${c.fix ? `\n       fix: ${c.fix}` : ''}`,
        ),
        failure ? 'doctor: FAILED' : 'doctor: all checks passed',
      ].join('\n'),
    );
    if (failure) throw failure;
  },
} satisfies CommandModule<object, Args>;
