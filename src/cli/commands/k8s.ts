import type { Argv, CommandModule } from 'yargs';
import { guarded, type AppOptions } from '../app-options.js';
import { printResult, type CommonArgs } from '../output.js';
import { lastValue, typed, withCommon, withTrust } from '../options.js';

interface ValuesArgs extends CommonArgs {
  bundle: string;
  trust: string[];
  profile?: string;
  registry: string;
  prefix: string;
  origin: string;
  namespace?: string;
  pullSecret?: string;
  out?: string;
}

const valuesCommand = {
  command: 'values',
  describe:
    "write Helm values for sigstore's charts: every image from the internal registry by digest, the origin, the Secrets to create",
  builder: (y) =>
    typed<ValuesArgs>(
      withTrust(withCommon(y))
        .option('bundle', {
          coerce: lastValue,
          type: 'string',
          demandOption: true,
          describe: 'the bundle whose images were pushed (its signature is checked)',
        })
        .option('profile', {
          coerce: lastValue,
          type: 'string',
          describe: 'profile in the bundle (needed when it holds several)',
        })
        .option('registry', {
          coerce: lastValue,
          type: 'string',
          demandOption: true,
          describe: 'the internal registry the images were pushed to (bundle push --registry)',
        })
        .option('prefix', {
          coerce: lastValue,
          type: 'string',
          default: '',
          describe: 'the same --prefix as bundle push',
        })
        .option('origin', {
          coerce: lastValue,
          type: 'string',
          demandOption: true,
          describe: "the log's origin, e.g. rekor.site.internal (clients verify checkpoints by it)",
        })
        .option('namespace', {
          coerce: lastValue,
          type: 'string',
          describe: "Kubernetes namespace (default: the chart's)",
        })
        .option('pull-secret', {
          coerce: lastValue,
          type: 'string',
          describe: 'name of a docker-registry Secret for the internal registry, when it needs credentials',
        })
        .option('out', { coerce: lastValue, type: 'string', describe: 'write the values here (default: stdout)' })
        .example(
          '$0 k8s values --bundle ./bundle --trust bundle-signing.pub --registry harbor.site.internal --prefix sigstore-airgap --origin rekor.site.internal --out values.yaml',
          'then: helm template|install … -f values.yaml',
        ),
    ),
  handler: async (args) => {
    const { checkValuesNames, chartValues, valuesFileText } = await import('../../k8s/chart-values.js');
    const { checkPrefix } = await import('../../bundle/push.js');
    const prefix = checkPrefix(args.prefix);
    const names = {
      registry: args.registry,
      prefix,
      origin: args.origin,
      ...(args.namespace !== undefined ? { namespace: args.namespace } : {}),
      ...(args.pullSecret !== undefined ? { pullSecret: args.pullSecret } : {}),
    };
    // Before the bundle is read: every name lands in YAML, its comments and the commands shown.
    checkValuesNames(names);
    const { writeFileAtomic } = await import('../../util/atomic-file.js');
    const { loadTrustedKeys } = await import('../../bundle/signing.js');
    const { readTrustedManifest } = await import('../../bundle/trusted-manifest.js');
    const { readVerifiedFile } = await import('../../bundle/verify-dir.js');
    const { bundleRel } = await import('../../bundle/layout.js');
    const { parseProfile } = await import('../../bundle/profile.js');
    const { chooseProfile } = await import('../../bundle/manifest.js');
    const { manifest } = await readTrustedManifest(args.bundle, await loadTrustedKeys(args.trust));
    const name = chooseProfile(manifest, args.profile);
    const profile = parseProfile(
      (await readVerifiedFile(args.bundle, manifest, bundleRel.profile(name))).toString('utf8'),
      bundleRel.profile(name),
    );
    const images = Object.fromEntries(
      manifest.images
        .filter((i) => i.profiles.includes(name))
        .map((i) => [i.name, { ref: i.ref, manifestDigest: i.manifestDigest }]),
    );
    const v = chartValues({ kind: profile.kind, images, ...names });
    const chart = (manifest.charts ?? []).find((c) => c.name === v.chart && c.profiles.includes(name));
    const chartRef = chart ? `${chart.ref}@${chart.digest}` : undefined;
    const text = valuesFileText(v, {
      profile: name,
      registry: args.registry,
      prefix,
      ...(chartRef ? { chartRef } : {}),
    });
    // A new file renamed over --out: a link planted there is replaced, never written through.
    if (args.out) await writeFileAtomic(args.out, text, { mode: 0o644 });
    printResult(
      args,
      {
        chart: v.chart,
        chartRef: chartRef ?? null,
        values: v.values,
        commands: v.commands,
        notes: v.notes,
        ...(args.out ? { out: args.out } : {}),
      },
      args.out
        ? `values for ${v.chart} written to ${args.out}\n${v.commands.map((c) => `  ${c.split('\n')[0]}`).join('\n')}`
        : text,
    );
  },
} satisfies CommandModule<object, ValuesArgs>;

export function k8sCommand(opts: AppOptions): CommandModule {
  return {
    command: 'k8s <command>',
    describe: "Kubernetes sites: values for sigstore's Helm charts, pointing at the internal registry",
    builder: (y: Argv) =>
      y.command(guarded(valuesCommand as unknown as CommandModule, opts)).demandCommand(1, 'name a k8s command'),
    handler: () => undefined,
  };
}
