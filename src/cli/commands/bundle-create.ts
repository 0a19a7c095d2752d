import type { CommandModule } from 'yargs';
import { AirgapError } from '../../errors.js';
import { loadSigningKey, readPassphrase } from '../../bundle/signing.js';
import { parsePlatform } from '../../registry/platform.js';
import { formatBytes } from '../../util/progress.js';
import { printResult, progressFor, type CommonArgs } from '../output.js';
import { registryAccessFrom, typed, withCommon, withPassphrase, withRegistry } from '../options.js';
import { engineForCommand } from '../engine-edge.js';
import { provenanceText } from '../../bundle/provenance-text.js';

interface Args extends CommonArgs {
  profile: string[];
  out: string;
  key: string;
  passphraseFile?: string;
  platform?: string;
  mirror: string[];
  registryCa: string[];
  insecureRegistry: string[];
  concurrency: number;
  /** A path, or false for --no-lock. */
  lock?: string | false;
  nodeRuntime?: string;
  npmRegistry?: string;
  force: boolean;
  release?: number;
  source: 'registry' | 'docker';
  withCharts: boolean;
  chart: string[];
  sigstoreTrustedRoot?: string;
}

function checkRelease(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new AirgapError('USAGE_INVALID', `--release ${n}: a whole number, 0 or more`);
  return n;
}

/** --lock FILE → that file; --no-lock → none; neither → the profile's lock file when it exists. */
export function lockMode(lock: string | false | undefined): string {
  if (lock === false) return 'none';
  return lock ?? 'auto';
}

export const bundleCreateCommand = {
  command: 'create',
  describe: 'pull the stack images (pinned by digest) and write a signed offline bundle directory',
  builder: (y) =>
    typed<Args>(
      withRegistry(withPassphrase(withCommon(y)))
        .option('profile', {
          type: 'string',
          array: true,
          default: ['rekor-v2'],
          describe: 'stack profile: rekor-v2 (default), rekor-v1, or a path to a profile YAML (repeatable)',
        })
        .option('out', { type: 'string', demandOption: true, describe: 'bundle directory to write' })
        .option('key', {
          type: 'string',
          demandOption: true,
          describe: 'signing key from bundle keygen (encrypted PEM)',
        })
        .option('platform', {
          type: 'string',
          describe: "platform of the offline host, e.g. linux/amd64 (default: this host's)",
        })
        .option('lock', {
          type: 'string',
          describe: 'lock file to enforce (default: <profile>.lock.json when it exists); --no-lock ignores lock files',
        })
        .option('node-runtime', {
          type: 'string',
          describe: 'Node.js binary for the target platform (default: this one, when platforms match)',
        })
        .option('source', {
          choices: ['registry', 'docker'] as const,
          default: 'registry' as const,
          describe:
            'registry: pull daemonless (default); docker: pull with the local engine (its credentials) and export',
        })
        .option('npm-registry', {
          type: 'string',
          describe:
            'npm registry (or internal mirror) for the Node runtime of another platform (default https://registry.npmjs.org)',
        })
        .option('release', {
          type: 'number',
          describe: "release number of this bundle (default: the profile's release:); installs never go to a lower one",
        })
        .option('force', { type: 'boolean', default: false, describe: 'rebuild over a complete bundle at --out' })
        .option('with-charts', {
          type: 'boolean',
          default: false,
          describe: 'also carry the Helm charts the profiles list (OCI artifacts), for Kubernetes sites',
        })
        .option('chart', {
          type: 'string',
          array: true,
          default: [] as string[],
          describe: 'carry this Helm chart too: registry/repository:VERSION[@sha256:…] (repeatable; mirrors apply)',
        })
        .option('sigstore-trusted-root', {
          type: 'string',
          describe:
            "Sigstore trusted root (trusted_root.json) to verify upstream signatures with (default: fetched from Sigstore's TUF repository); carried in the bundle for the offline side",
        })
        .example(
          '$0 bundle create --profile rekor-v2 --out ./bundle --key ./bundle-signing.key --mirror ghcr.io=mirror.internal:5000',
          '',
        ),
    ),
  handler: async (args) => {
    const { createBundle, loadBundleProfiles } = await import('../../bundle/create.js');
    // Every profile must name a stack this tool can install: said before the passphrase is asked
    // (createBundle checks it again, for every caller).
    await loadBundleProfiles(args.profile);
    const passphrase = await readPassphrase(args.passphraseFile);
    const signingKey = await loadSigningKey(args.key, passphrase);
    const progress = progressFor(args);
    const result = await createBundle({
      profiles: args.profile,
      out: args.out,
      signingKey,
      ...(args.platform ? { platform: parsePlatform(args.platform) } : {}),
      access: await registryAccessFrom(args),
      lock: lockMode(args.lock),
      ...(args.nodeRuntime ? { nodeRuntime: args.nodeRuntime } : {}),
      ...(args.npmRegistry ? { npmRegistry: args.npmRegistry } : {}),
      force: args.force,
      ...(args.release !== undefined ? { release: checkRelease(args.release) } : {}),
      ...(args.source === 'docker' ? { engine: await engineForCommand() } : {}),
      withCharts: args.withCharts,
      charts: args.chart,
      ...(args.sigstoreTrustedRoot ? { sigstoreTrustedRoot: args.sigstoreTrustedRoot } : {}),
      progress,
    });
    const m = result.manifest;
    printResult(
      args,
      {
        dir: result.dir,
        createdAt: m.createdAt,
        platform: m.platform,
        profiles: m.profiles,
        images: m.images.map((i) => ({
          ref: i.ref,
          digest: i.digest,
          manifestDigest: i.manifestDigest,
          configDigest: i.configDigest,
          size: i.size,
          provenance: i.provenance,
        })),
        charts: (m.charts ?? []).map((c) => ({ ref: c.ref, digest: c.digest, version: c.version })),
        files: m.files.length,
        imageBytes: result.bytes,
        blobsFetched: result.blobsFetched,
        blobsSkipped: result.blobsSkipped,
      },
      [
        `bundle ${result.dir}`,
        `  profiles: ${m.profiles.join(', ')}   platform: ${m.platform}`,
        ...m.images.map((i) => `  ${i.ref}@${i.digest}\n    ${provenanceText(i.provenance)}`),
        ...(m.charts ?? []).map((c) => `  chart ${c.ref}@${c.digest}`),
        `  ${m.files.length} files, images ${formatBytes(result.bytes)}; signed bundle.json.sig`,
      ].join('\n'),
    );
  },
} satisfies CommandModule<object, Args>;
