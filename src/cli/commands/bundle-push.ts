import path from 'node:path';
import type { CommandModule } from 'yargs';
import { loadTrustedKeys } from '../../bundle/signing.js';
import { parseSize } from '../../media/transfer-index.js';
import { formatBytes } from '../../util/progress.js';
import { printResult, progressFor, type CommonArgs } from '../output.js';
import { lastValue, timeoutMsOf, typed, withCommon, withTrust } from '../options.js';

interface Args extends CommonArgs {
  bundle: string;
  trust: string[];
  registry: string;
  prefix: string;
  registryCa: string[];
  insecureRegistry: string[];
  concurrency: number;
  chunkSize?: string;
  map?: string;
  timeout?: number;
}

export const bundlePushCommand = {
  command: 'push <bundle>',
  describe: 'verify a bundle, then push its images (and charts) into an internal registry under their upstream digests',
  builder: (y) =>
    typed<Args>(
      withTrust(withCommon(y))
        .positional('bundle', { type: 'string', demandOption: true, describe: 'bundle directory (unpacked)' })
        .option('registry', {
          type: 'string',
          demandOption: true,
          describe: 'the internal registry, host[:port] (credentials from $DOCKER_CONFIG/config.json)',
        })
        .option('prefix', {
          type: 'string',
          default: '',
          describe: 'repository path before each upstream repository: REGISTRY/PREFIX/sigstore/rekor-tiles/posix',
        })
        .option('registry-ca', {
          type: 'string',
          array: true,
          default: [] as string[],
          describe: 'extra CA certificate (PEM) for the registry (repeatable)',
        })
        .option('insecure-registry', {
          type: 'string',
          array: true,
          default: [] as string[],
          describe:
            'allow plain HTTP to this registry host:port, as in bundle create (repeatable; loopback is always allowed)',
        })
        .option('concurrency', { type: 'number', default: 4, describe: 'blobs uploaded in parallel' })
        .option('chunk-size', {
          type: 'string',
          describe:
            "upload blobs in chunks of this size (PATCH), e.g. 64MiB, for registries or proxies that limit a request's size (default: one PUT per blob)",
        })
        .option('map', { type: 'string', describe: 'where to write the image map (JSON; default ./image-map.json)' })
        .option('timeout', {
          coerce: lastValue,
          type: 'number',
          describe:
            'seconds each request to the registry may take, connect to last byte (default 60), plus 4 s per MiB of blob it carries',
        })
        .example(
          '$0 bundle push ./bundle --trust bundle-signing.pub --registry harbor.site.internal --prefix sigstore-airgap --registry-ca site-ca.crt',
          '',
        )
        .example(
          '$0 bundle push ./bundle --trust bundle-signing.pub --registry registry.lab:5000 --insecure-registry registry.lab:5000',
          'a registry without TLS, named as in bundle create',
        )
        .epilog(
          [
            'Every image lands at REGISTRY/PREFIX/<upstream repository>@<upstream manifest digest>, and under its tag.',
            'Blobs the registry has are not sent again; a rerun after an interruption sends only what is missing.',
            'A multi-platform upstream image is pushed as the platform the bundle holds (its own upstream digest);',
            'the upstream index is not, and the map says so. Exit codes: 0 pushed, 2 usage, 3 bundle damaged or not signed by --trust, 5 registry.',
          ].join('\n'),
        ),
    ),
  handler: async (args) => {
    const { pushBundle } = await import('../../bundle/push.js');
    const { readCaFiles } = await import('../../source/registry-source.js');
    const progress = progressFor(args);
    const mapFile = path.resolve(args.map ?? 'image-map.json');
    const map = await pushBundle({
      bundleDir: args.bundle,
      keys: await loadTrustedKeys(args.trust),
      registry: args.registry,
      prefix: args.prefix,
      ca: await readCaFiles(args.registryCa),
      insecure: args.insecureRegistry.includes(args.registry),
      concurrency: Math.max(1, Math.floor(args.concurrency)),
      ...(args.chunkSize ? { chunkSize: parseSize(args.chunkSize) } : {}),
      deadlineMs: timeoutMsOf(args.timeout),
      mapFile,
      progress,
    });
    const uploaded = map.artifacts.reduce((a, x) => a + x.blobs.bytesUploaded, 0);
    printResult(
      args,
      map,
      [
        `pushed to ${map.registry}${map.prefix ? `/${map.prefix}` : ''} (${formatBytes(uploaded)} uploaded); image map in ${mapFile}:`,
        ...map.artifacts.map(
          (a) =>
            `  ${a.ref}\n    → ${a.target}${a.indexNotPushed ? `\n    (index ${a.pinnedDigest} not pushed: one platform only)` : ''}`,
        ),
      ].join('\n'),
    );
  },
} satisfies CommandModule<object, Args>;
