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

export async function redeployInstance(
  engine: Engine,
  stack: Stack,
  state: InstanceState,
  o: { timeoutMs: number; progress: Progress },
): Promise<void> {
  const paths = instancePaths(state.dataDir);
  const d: DeployContext = {
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
    progress: o.progress,
  };
  o.progress.step(`rendering the configuration of ${state.instance} again from its kept templates`);
  const vars = await configureInstance(d);
  await startStack(d, vars, { timeoutMs: o.timeoutMs });
}
