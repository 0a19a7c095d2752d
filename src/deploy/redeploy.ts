/**
 * An installed instance's configuration rendered again from its own kept templates and images (no
 * bundle), and its services brought up with it: what changes a fact of the state rendered into
 * the configuration (a log switched read-only) without a new release.
 */
import type { Engine } from '../engine/engine.js';
import { instancePaths } from '../instance/layout.js';
import type { InstanceState } from '../instance/state.js';
import type { Stack } from '../stacks/stack.js';
import type { Progress } from '../util/progress.js';
import { instanceTemplates, keptTemplateNames } from './configure.js';
import { configureInstance, startStack, type DeployContext } from './deploy.js';

/**
 * What deploy works with for an instance that has no bundle at hand: its kept templates, the
 * images it runs, its own key (restore, a read-only switch).
 */
export async function keptDeployContext(
  engine: Engine,
  stack: Stack,
  state: InstanceState,
  progress: Progress,
): Promise<DeployContext> {
  const paths = instancePaths(state.dataDir);
  return {
    engine,
    stack,
    paths,
    state,
    templates: instanceTemplates(paths, state.profile),
    templateNames: await keptTemplateNames(paths),
    images: Object.fromEntries(Object.entries(state.images).map(([k, v]) => [k, v.ref])),
    artifacts: new Map(),
    tls: {},
    expectedLogKeyPem: state.logPublicKeyPem,
    progress,
  };
}

export async function redeployInstance(
  engine: Engine,
  stack: Stack,
  state: InstanceState,
  o: { timeoutMs: number; progress: Progress },
): Promise<void> {
  const d = await keptDeployContext(engine, stack, state, o.progress);
  o.progress.step(`rendering the configuration of ${state.instance} again from its kept templates`);
  const vars = await configureInstance(d);
  await startStack(d, vars, { timeoutMs: o.timeoutMs });
}
