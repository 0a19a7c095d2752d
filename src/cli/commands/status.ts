import type { CommandModule } from 'yargs';
import { printResult, type CommonArgs } from '../output.js';
import { typed, withCommon } from '../options.js';

interface Args extends CommonArgs {
  instance: string;
  dataDir?: string;
}

export const statusCommand = {
  command: 'status',
  describe: 'an instance\'s containers, their health, the tree size and the last checkpoint',
  builder: (y) => typed<Args>(withCommon(y)
    .option('instance', { type: 'string', default: 'default', describe: 'instance name' })
    .option('data-dir', { type: 'string', describe: 'the instance directory, if not the default' })
    .example('$0 status --instance default --json', 'containers, health, tree size and the verified checkpoint')),
  handler: async (args) => {
    const { connectEngine, projectContainers } = await import('../../engine/docker.js');
    const { logTargetOf } = await import('../../instance/log-target.js');
    const { requireState } = await import('../../instance/state.js');
    const { stackFor } = await import('../../stacks/registry.js');
    const state = await requireState(args.instance, args.dataDir);
    const containers = await projectContainers(connectEngine(), state.project);
    const { observeLog } = await import('../../stacks/observe.js');
    const { AirgapError } = await import('../../errors.js');
    // A fork is not "unreachable": it fails status with its own exit code.
    const head = await observeLog(state, stackFor(state.kind), await logTargetOf(state)).then((o) => o.head)
      .catch((e: Error) => { if (e instanceof AirgapError && e.code === 'LOG_FORK') throw e; return { error: e.message }; });
    printResult(args, { instance: state.instance, profile: state.profile, url: state.url, origin: state.origin, containers, log: head },
      [`instance ${state.instance} (${state.profile}) at ${state.url}, origin ${state.origin}`,
        ...containers.map((c) => `  ${c.service.padEnd(22)} ${c.state}${c.health ? ` (${c.health})` : ''}`),
        'error' in head ? `  log: unreachable: ${head.error}` : `  log: tree size ${head.size}, root ${head.rootHex}\n${head.checkpoint.replace(/^/gm, '    ')}`].join('\n'));
  },
} satisfies CommandModule<object, Args>;
