import type { CommandModule } from 'yargs';
import { printResult, type CommonArgs } from '../output.js';
import { timeoutMsOf, typed, withCommon } from '../options.js';
import { TIMEOUT_OPTION } from '../log-target-args.js';
import { printable } from '../../util/untrusted-text.js';
import { engineForCommand } from '../engine-edge.js';
import type { projectContainers } from '../../engine/docker.js';
import type { InstanceState } from '../../instance/state.js';
import type { WitnessStack } from '../../stacks/stack.js';

interface Args extends CommonArgs {
  instance: string;
  dataDir?: string;
  timeout?: number;
}

/** A witness has no checkpoint of its own: what it has cosigned, per log, from its database. */
async function printWitnessStatus(
  args: Args,
  state: InstanceState,
  stack: WitnessStack,
  containers: Awaited<ReturnType<typeof projectContainers>>,
): Promise<void> {
  const witnessed = await stack.witnessedSizes(state.dataDir).then(
    (m) => Object.fromEntries(m),
    (e: Error) => ({ error: e.message }),
  );
  printResult(
    args,
    {
      instance: state.instance,
      profile: state.profile,
      url: state.url,
      witnessName: state.stack.witnessName ?? state.origin,
      witnessVkey: state.stack.witnessVkey ?? '',
      containers,
      witnessed,
    },
    [
      `witness ${state.instance} (${state.profile}) at ${state.url}, name ${state.stack.witnessName ?? state.origin}`,
      ...containers.map((c) => `  ${c.service.padEnd(22)} ${c.state}${c.health ? ` (${c.health})` : ''}`),
      'error' in witnessed
        ? `  cosigned: unreadable: ${String(witnessed.error)}`
        : `  cosigned (latest size per log): ${
            Object.entries(witnessed)
              .map(([o, n]) => `${printable(o)} ${n}`)
              .join(', ') || 'nothing yet'
          }`,
    ].join('\n'),
  );
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
    const stack = stackFor(state.kind);
    if (stack.serves === 'witness') {
      await printWitnessStatus(args, state, stack, containers);
      return;
    }
    const { observeLog } = await import('../../stacks/observe.js');
    const { AirgapError } = await import('../../errors.js');
    // A fork or a lost witness quorum is not "unreachable": it fails status with its own exit code.
    const target = await logTargetOf(state);
    if (timeoutMs) target.endpoint.timeoutMs = timeoutMs;
    const head = await observeLog(state, stack, target)
      .then((o) => o.head)
      .catch((e: Error) => {
        if (e instanceof AirgapError && (e.code === 'LOG_FORK' || e.code === 'WITNESS_QUORUM_NOT_MET')) throw e;
        return { error: e.message };
      });
    const { shardLines, shardJson } = await import('../shard-status.js');
    // A shard rotated out: is the switch holding? (The probe writes nothing.)
    const sw = state.readOnlySince ? stack.readOnlySwitch : undefined;
    const writes = sw
      ? await sw.writesRefused(target).then(
          (answer) => ({ refused: true, answer }),
          (e: Error) => ({ refused: false, answer: e.message }),
        )
      : undefined;
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
        ...shardJson(state),
        ...(writes ? { writesRefused: writes.refused } : {}),
        containers,
        log: head,
        volumes,
      },
      [
        `instance ${state.instance} (${state.profile}) at ${state.url}, origin ${state.origin}`,
        ...shardLines(state),
        ...(writes ? [`  writes: ${writes.refused ? 'refused' : 'NOT refused'} (${writes.answer})`] : []),
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
