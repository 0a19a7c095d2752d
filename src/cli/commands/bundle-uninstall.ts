import { promises as fsp } from 'node:fs';
import type { CommandModule } from 'yargs';
import { printResult, type CommonArgs } from '../output.js';
import { typed, withCommon } from '../options.js';
import { engineForCommand } from '../engine-edge.js';

interface Args extends CommonArgs {
  instance: string;
  dataDir?: string;
  purge: boolean;
}

export const bundleUninstallCommand = {
  command: 'uninstall',
  describe: "stop and remove an instance's containers; its data and keys stay unless --purge",
  builder: (y) =>
    typed<Args>(
      withCommon(y)
        .option('instance', { type: 'string', demandOption: true, describe: 'instance name' })
        .option('data-dir', { type: 'string', describe: 'the instance directory, if not the default' })
        .option('purge', {
          type: 'boolean',
          default: false,
          describe: "also delete the log's data, keys and TLS material (irreversible)",
        })
        .example(
          '$0 bundle uninstall --instance tenant-b',
          'containers removed; keys and log data kept for a reinstall',
        ),
    ),
  handler: async (args) => {
    const { instancePaths } = await import('../../instance/layout.js');
    const { requireState } = await import('../../instance/state.js');
    const state = await requireState(args.instance, args.dataDir);
    const engine = await engineForCommand();
    await engine.project(state.project, instancePaths(state.dataDir).compose).down();
    if (args.purge) await fsp.rm(state.dataDir, { recursive: true, force: true });
    printResult(
      args,
      { instance: state.instance, removed: true, purged: args.purge, dataDir: state.dataDir },
      `instance ${state.instance}: containers removed; ${args.purge ? `data deleted (${state.dataDir})` : `data and keys kept in ${state.dataDir}`}`,
    );
  },
} satisfies CommandModule<object, Args>;
