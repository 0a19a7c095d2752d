import type { CommandModule } from 'yargs';
import { printResult, type CommonArgs } from '../output.js';
import { timeoutMsOf, typed, withCommon } from '../options.js';
import { TIMEOUT_OPTION } from '../log-target-args.js';
import { printable } from '../../util/untrusted-text.js';
import { engineForCommand } from '../engine-edge.js';

interface Args extends CommonArgs {
  instance: string;
  dataDir?: string;
  timeout?: number;
}

export const statusCommand = {
  command: 'status',
  describe: "an instance's containers, their health, the tree size and the last checkpoint",
  builder: (y) =>
    typed<Args>(
      withCommon(y)
        .option('instance', { type: 'string', default: 'default', describe: 'instance name' })
        .option('data-dir', { type: 'string', describe: 'the instance directory, if not the default' })
        .option('timeout', TIMEOUT_OPTION)
        .example('$0 status --instance default --json', 'containers, health, tree size and the verified checkpoint'),
    ),
  handler: async (args) => {
    const { projectContainers } = await import('../../engine/docker.js');
    const { logTargetOf } = await import('../../instance/log-target.js');
    const { requireState } = await import('../../instance/state.js');
    const { stackFor } = await import('../../stacks/registry.js');
    const timeoutMs = timeoutMsOf(args.timeout);
    const state = await requireState(args.instance, args.dataDir);
    const containers = await projectContainers((await engineForCommand()).docker, state.project);
    const { observeLog } = await import('../../stacks/observe.js');
    const { AirgapError } = await import('../../errors.js');
    // A fork is not "unreachable": it fails status with its own exit code.
    const target = await logTargetOf(state);
    if (timeoutMs) target.endpoint.timeoutMs = timeoutMs;
    const head = await observeLog(state, stackFor(state.kind), target)
      .then((o) => o.head)
      .catch((e: Error) => {
        if (e instanceof AirgapError && e.code === 'LOG_FORK') throw e;
        return { error: e.message };
      });
    const { logVolumes } = await import('../../instance/volume-space.js');
    const { instancePaths } = await import('../../instance/layout.js');
    const volumes = await logVolumes(instancePaths(state.dataDir));
    const mib = (n: number) => `${(n / 1048576).toFixed(0)} MiB`;
    printResult(
      args,
      {
        instance: state.instance,
        profile: state.profile,
        url: state.url,
        origin: state.origin,
        containers,
        log: head,
        volumes,
      },
      [
        `instance ${state.instance} (${state.profile}) at ${state.url}, origin ${state.origin}`,
        ...containers.map((c) => `  ${c.service.padEnd(22)} ${c.state}${c.health ? ` (${c.health})` : ''}`),
        ...volumes.map((v) =>
          v.full
            ? `  volume ${v.dir}: FULL, ${mib(v.freeBytes)} free of ${mib(v.totalBytes)}: ${v.action}`
            : `  volume ${v.dir}: ${mib(v.freeBytes)} free of ${mib(v.totalBytes)}`,
        ),
        'error' in head
          ? `  log: unreachable: ${head.error}`
          : `  log: tree size ${head.size}, root ${head.rootHex}\n${printable(head.checkpoint, { max: 4096, keepNewlines: true }).replace(/^/gm, '    ')}`,
      ].join('\n'),
    );
  },
} satisfies CommandModule<object, Args>;
