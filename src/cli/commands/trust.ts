import type { Argv, CommandModule } from 'yargs';
import { guarded, type AppOptions } from '../app-options.js';
import { printResult, type CommonArgs } from '../output.js';
import { lastValue, typed, withCommon } from '../options.js';

interface ExportArgs extends CommonArgs {
  instance: string;
  dataDir?: string;
  out?: string;
}

const exportCommand = {
  command: 'export',
  describe: 'write the files Sigstore clients need for this log: trusted_root.json, signing_config.json and the TLS CA',
  builder: (y) =>
    typed<ExportArgs>(
      withCommon(y)
        .option('instance', { coerce: lastValue, type: 'string', default: 'default', describe: 'instance name' })
        .option('data-dir', {
          coerce: lastValue,
          type: 'string',
          describe: 'the instance directory, if not the default',
        })
        .option('out', {
          coerce: lastValue,
          type: 'string',
          describe: "directory to write into (default: the instance's trust/)",
        })
        .example(
          '$0 trust export --instance default --out ./client-trust',
          "then hand ./client-trust to the developers' hosts",
        ),
    ),
  handler: async (args) => {
    const { requireState } = await import('../../instance/state.js');
    const { writeTrustFiles } = await import('../../instance/trust-files.js');
    const { logStackFor } = await import('../../stacks/registry.js');
    const { clientGuide } = await import('../handover.js');
    const state = await requireState(args.instance, args.dataDir);
    const files = await writeTrustFiles(state, logStackFor(state.kind, state.instance).apiVersion, args.out);
    printResult(
      args,
      { instance: state.instance, url: state.url, ...files },
      [
        `trust files of ${state.instance} (${state.url}):`,
        `  ${files.trustedRoot}`,
        `  ${files.signingConfig}`,
        `  ${files.caCert}`,
        '',
        clientGuide(state, files),
      ].join('\n'),
    );
  },
} satisfies CommandModule<object, ExportArgs>;

export function trustCommand(opts: AppOptions): CommandModule {
  return {
    command: 'trust <command>',
    describe: 'the client side of an instance: what cosign, sigstore-go and sigstore-js need to use it',
    builder: (y: Argv) =>
      y.command(guarded(exportCommand as unknown as CommandModule, opts)).demandCommand(1, 'name a trust command'),
    handler: () => undefined,
  };
}
