/**
 * Bringing an instance's configuration and services up, shared by install, restore and upgrade:
 * the stack's keys and secrets (made or reused), TLS, the rendered configuration, then the start
 * phases in order, each waited healthy.
 */
import type Docker from 'dockerode';
import { composeToolName, type Engine } from '../engine/engine.js';
import { waitHealthy } from '../engine/wait-healthy.js';
import { containersWithChangedFiles, type EngineKind } from '../engine/docker.js';
import { AirgapError } from '../errors.js';
import type { InstancePaths } from '../instance/layout.js';
import type { TemplateVars } from '../instance/render.js';
import { ensureTls, type TlsOptions } from '../instance/secrets.js';
import { writeState, type InstanceState } from '../instance/state.js';
import { servingLimitVars } from '../instance/serving-limits.js';
import { logKeyId } from '../tlog/note.js';
import { allServices, type Stack, type StartContext } from '../stacks/stack.js';
import type { Progress } from '../util/progress.js';
import { writeScheduleFiles } from '../instance/schedule-files.js';
import { writeTrustFiles } from '../instance/trust-files.js';
import { witnessVars } from '../instance/witnessing.js';
import { chooseSubnet, internalAddressing, POOL, type InternalAddressing } from '../engine/internal-net.js';
import { networkSubnets, subnetsInUse } from '../engine/networks.js';
import { prepareInstanceDirs, renderedFilesVars, renderTemplates, type TemplateSource } from './configure.js';

export interface DeployContext {
  engine: Engine;
  stack: Stack;
  paths: InstancePaths;
  state: InstanceState;
  /** The profile's templates (from the verified bundle, or the instance's kept copy). */
  templates: TemplateSource;
  templateNames: readonly string[];
  /** Image references by profile image name. */
  images: Record<string, string>;
  artifacts: ReadonlyMap<string, () => Promise<Buffer>>;
  tls: Omit<TlsOptions, 'hostname' | 'instance'>;
  /** The log key the instance must keep (a rerun, an upgrade, a restore). */
  expectedLogKeyPem?: string;
  progress: Progress;
}

/** Directories, keys and secrets, TLS, the rendered configuration (all but deferred templates). */
export async function configureInstance(d: DeployContext): Promise<TemplateVars> {
  const { paths, stack, state } = d;
  await prepareInstanceDirs(paths, stack.directories);
  const configured = await stack.configure({ paths, state, artifacts: d.artifacts });
  if (d.expectedLogKeyPem && d.expectedLogKeyPem !== configured.logKey.publicPem) {
    throw new AirgapError(
      'INSTALL_KEY_CHANGED',
      `the log signing key in ${paths.logSigner} is not the one instance ${state.instance} was installed with`,
    );
  }
  state.logPublicKeyPem = configured.logKey.publicPem;
  state.logKeyId = Buffer.from(logKeyId(state.origin, configured.logKey.publicKey)).toString('hex');
  await ensureTls(paths, { hostname: state.hostname, instance: state.instance, ...d.tls });
  const { docker } = d.engine;
  const engine = await d.engine.kind();
  const vars: TemplateVars = {
    instance: state.instance,
    project: state.project,
    hostname: state.hostname,
    origin: state.origin,
    https_port: state.httpsPort,
    bind_address: state.bindAddress,
    checkpoint_interval: state.checkpointInterval,
    limits: servingLimitVars(state.limits),
    publish: publishedPort(engine, state.bindAddress, state.httpsPort),
    images: d.images,
    paths: { ...paths },
    files: renderedFilesVars(stack, paths, d.templateNames),
    ...configured.vars,
  };
  const witness = await witnessVars(paths);
  if (witness) vars.witness = witness;
  if (stack.fixedAddresses)
    vars.internal = { ...(await internalAddresses(docker, engine, state, stack.fixedAddresses)) };
  const deferred = new Set(stack.phases.flatMap((p) => p.templates ?? []));
  await renderTemplates(
    d.templates,
    stack,
    paths,
    vars,
    d.templateNames.filter((t) => !deferred.has(t)),
  );
  await writeScheduleFiles(paths, state.instance);
  // A log's clients get trust files; a witness has no log to trust (its vkey is in the hand-over).
  if (stack.serves === 'log') await writeTrustFiles(state, stack.apiVersion);
  return vars;
}

function networkName(state: InstanceState, network: string): string {
  return `${state.project}_${network}`;
}

/** The instance's block (kept when still free, else a free one) and the services' addresses in it. */
async function internalAddresses(
  docker: Docker,
  engine: EngineKind,
  state: InstanceState,
  fixed: NonNullable<Stack['fixedAddresses']>,
): Promise<InternalAddressing> {
  const used = await subnetsInUse(docker, networkName(state, fixed.network));
  const subnet = chooseSubnet(used, state.project, state.internalSubnet);
  if (!subnet) {
    throw new AirgapError(
      'PREFLIGHT_NO_SUBNET',
      `no free /26 left in ${POOL} for the internal network of instance ${state.instance}: every block overlaps a network of the engine or a route of the host (${used.join(', ')})`,
    );
  }
  state.internalSubnet = subnet;
  return internalAddressing(subnet, fixed.services, engine);
}

/**
 * An instance whose internal network exists with other addresses (made by an older rekor-airgap,
 * or before a restore moved the instance) is taken down, so compose creates the network anew.
 */
async function recreateInternalNetwork(d: DeployContext): Promise<void> {
  const { stack, state, paths, progress } = d;
  if (!stack.fixedAddresses || !state.internalSubnet) return;
  const name = networkName(state, stack.fixedAddresses.network);
  const current = await networkSubnets(d.engine.docker, name);
  if (!current || (current.length === 1 && current[0] === state.internalSubnet)) return;
  progress.step(
    `network ${name} gets fixed addresses in ${state.internalSubnet} (was ${current.join(', ') || 'engine-assigned'}): taking the services down to create it again; data and keys stay`,
  );
  await d.engine.project(state.project, paths.compose).down();
}

/**
 * The host side of the HTTPS port mapping. Podman 4.3's Docker-compatible API passes an explicit
 * 0.0.0.0 to netavark, which then matches only packets addressed to 0.0.0.0 (`-d 0.0.0.0/32`), so
 * the port answers nowhere; without a host address it listens on all of them, as asked.
 */
export function publishedPort(engine: 'docker' | 'podman', bindAddress: string, port: number): string {
  if (engine === 'podman' && bindAddress === '0.0.0.0') return String(port);
  return `${bindAddress}:${port}`;
}

/** Services that mount a file this run changed (nginx.conf after new limits) start again with it. */
async function restartForChangedFiles(d: DeployContext): Promise<void> {
  for (const c of await containersWithChangedFiles(d.engine.docker, d.state.project)) {
    d.progress.step(`restarting ${c.service}: its configuration changed`);
    await d.engine.docker.getContainer(c.id).restart();
  }
}

export interface StartOptions {
  timeoutMs: number;
  /** Runs once the services named are healthy, before the stack's phases (a restore loads its dumps). */
  first?: { services: readonly string[]; run: () => Promise<void> };
}

/** The stack's phases in order, each waited healthy; then the whole project; then the state. */
export async function startStack(d: DeployContext, vars: TemplateVars, s: StartOptions): Promise<void> {
  const { state, paths, stack, progress, engine } = d;
  const project = engine.project(state.project, paths.compose);
  const ctx: StartContext = {
    engine,
    project,
    paths,
    state,
    vars,
    timeoutMs: s.timeoutMs,
    progress,
    saveState: () => writeState(state),
  };
  const tool = composeToolName(await engine.compose());
  const startPhase = async (services: readonly string[]) => {
    progress.step(`starting ${services.join(', ')} (${tool}, project ${state.project})`);
    await project.up(services);
    await waitHealthy(engine.docker, state.project, [...services], s.timeoutMs, progress);
  };
  await recreateInternalNetwork(d);
  if (s.first) {
    await startPhase(s.first.services);
    await s.first.run();
  }
  for (const phase of stack.phases) {
    await phase.before?.(ctx);
    if (phase.templates?.length) await renderTemplates(d.templates, stack, paths, vars, phase.templates);
    await startPhase(phase.services);
  }
  await project.up();
  await restartForChangedFiles(d);
  await waitHealthy(engine.docker, state.project, allServices(stack), s.timeoutMs, progress);
  await writeState(state);
}
