import { promises as fsp } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { guarded, type AppOptions } from '../app-options.js';
import { printResult, type CommonArgs } from '../output.js';
import { typed, withCommon, withTrust } from '../options.js';

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
  describe: 'write Helm values for sigstore\'s charts: every image from the internal registry by digest, the origin, the Secrets to create',
  builder: (y) => typed<ValuesArgs>(withTrust(withCommon(y))
    .option('bundle', { type: 'string', demandOption: true, describe: 'the bundle whose images were pushed (its signature is checked)' })
    .option('profile', { type: 'string', describe: 'profile in the bundle (needed when it holds several)' })
    .option('registry', { type: 'string', demandOption: true, describe: 'the internal registry the images were pushed to (bundle push --registry)' })
    .option('prefix', { type: 'string', default: '', describe: 'the same --prefix as bundle push' })
    .option('origin', { type: 'string', demandOption: true, describe: 'the log\'s origin, e.g. rekor.site.internal (clients verify checkpoints by it)' })
    .option('namespace', { type: 'string', describe: 'Kubernetes namespace (default: the chart\'s)' })
    .option('pull-secret', { type: 'string', describe: 'name of a docker-registry Secret for the internal registry, when it needs credentials' })
    .option('out', { type: 'string', describe: 'write the values here (default: stdout)' })
    .example('$0 k8s values --bundle ./bundle --trust bundle-signing.pub --registry harbor.site.internal --prefix sigstore-airgap --origin rekor.site.internal --out values.yaml', 'then: helm template|install … -f values.yaml')),
  handler: async (args) => {
    const { loadTrustedKeys } = await import('../../bundle/signing.js');
    const { readTrustedManifest } = await import('../../bundle/trusted-manifest.js');
    const { readVerifiedFile } = await import('../../bundle/verify-dir.js');
    const { bundleRel } = await import('../../bundle/layout.js');
    const { parseProfile } = await import('../../bundle/profile.js');
    const { checkPrefix } = await import('../../bundle/push.js');
    const { chartValues, valuesFileText } = await import('../../k8s/chart-values.js');
    const { chooseProfile } = await import('../../bundle/manifest.js');
    const { manifest } = await readTrustedManifest(args.bundle, await loadTrustedKeys(args.trust));
    const name = chooseProfile(manifest, args.profile);
    const profile = parseProfile((await readVerifiedFile(args.bundle, manifest, bundleRel.profile(name))).toString('utf8'), bundleRel.profile(name));
    const images = Object.fromEntries(manifest.images.filter((i) => i.profiles.includes(name)).map((i) => [i.name, { ref: i.ref, manifestDigest: i.manifestDigest }]));
    const prefix = checkPrefix(args.prefix);
    const v = chartValues({
      kind: profile.kind, registry: args.registry, prefix, images, origin: args.origin,
      ...(args.namespace ? { namespace: args.namespace } : {}), ...(args.pullSecret ? { pullSecret: args.pullSecret } : {}),
    });
    const chart = (manifest.charts ?? []).find((c) => c.name === v.chart && c.profiles.includes(name));
    const chartRef = chart ? `${chart.ref}@${chart.digest}` : undefined;
    const text = valuesFileText(v, { profile: name, registry: args.registry, prefix, ...(chartRef ? { chartRef } : {}) });
    if (args.out) await fsp.writeFile(args.out, text, { mode: 0o644 });
    printResult(args, { chart: v.chart, chartRef: chartRef ?? null, values: v.values, commands: v.commands, notes: v.notes, ...(args.out ? { out: args.out } : {}) },
      args.out ? `values for ${v.chart} written to ${args.out}\n${v.commands.map((c) => `  ${c.split('\n')[0]}`).join('\n')}` : text);
  },
} satisfies CommandModule<object, ValuesArgs>;

export function k8sCommand(opts: AppOptions): CommandModule {
  return {
    command: 'k8s <command>',
    describe: 'Kubernetes sites: values for sigstore\'s Helm charts, pointing at the internal registry',
    builder: (y: Argv) => y.command(guarded(valuesCommand as unknown as CommandModule, opts)).demandCommand(1, 'name a k8s command'),
    handler: () => undefined,
  };
}
