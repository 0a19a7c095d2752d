/**
 * The one interface a stack module implements. It says everything install, status, smoke,
 * uninstall, backup and restore need to know about a kind of instance; none of them names a stack.
 * A new stack = a module here, its entry in `registry.ts`, a profile in bundles/ and templates.
 *
 * What an instance serves is a capability, told by `serves`: a transparency log (checkpoints,
 * entries, proofs: `LogStack`) or a witness, which keeps no log of its own and cosigns the
 * checkpoints of the logs registered with it (`WitnessStack`). Code that reads a log narrows first.
 */
import type { ComposeProject, Engine } from '../engine/engine.js';
import type { InstancePathName, InstancePaths } from '../instance/layout.js';
import type { TemplateVars } from '../instance/render.js';
import type { LogKey } from '../instance/secrets.js';
import type { InstanceState } from '../instance/state.js';
import type { LogEntry } from '../rekor/entry-reader.js';
import type { RangeEntry } from '../rekor/entry-range.js';
import type { LogHead } from '../rekor/log-head.js';
import type { SmokeReport } from '../rekor/report.js';
import type { LogTarget } from '../rekor/target.js';
import type { Progress } from '../util/progress.js';

/** A directory the stack needs in the instance, and who owns it. */
export interface StackDirectory {
  path: InstancePathName;
  mode: number;
  /** uid (and gid) of the container user that writes it; root when absent. */
  owner?: number;
}

export interface ConfigureContext {
  paths: InstancePaths;
  /** The state being installed (existing facts kept, e.g. `stack.treeId`). */
  state: InstanceState;
  /** The profile's file artifacts, by name, as verified bytes of the signed bundle. */
  artifacts: ReadonlyMap<string, () => Promise<Buffer>>;
}

export interface Configured {
  /** The key the instance signs with: a log's checkpoints, a witness's cosignatures. */
  logKey: LogKey;
  /** Template variables the stack adds (passwords, ...). */
  vars: TemplateVars;
}

export interface StartContext {
  engine: Engine;
  /** The instance's compose project. */
  project: ComposeProject;
  paths: InstancePaths;
  state: InstanceState;
  vars: TemplateVars;
  timeoutMs: number;
  progress: Progress;
  /** Persists `state` (after a step that made a fact the instance must keep). */
  saveState(): Promise<void>;
}

/** Services started together and waited healthy before the next phase starts. */
export interface StartPhase {
  services: readonly string[];
  /** Runs once the earlier phases are healthy, before this one starts (e.g. create a tree). */
  before?: (ctx: StartContext) => Promise<void>;
  /** Templates that can only be rendered after `before` (they need what it made). */
  templates?: readonly string[];
}

export interface BackupContext {
  engine: Engine;
  /** The instance's compose project. */
  project: ComposeProject;
  paths: InstancePaths;
  state: InstanceState;
  target: LogTarget;
  timeoutMs: number;
  progress: Progress;
}

/** A database saved by a dump (a consistent snapshot taken while it runs), not by copying its files. */
export interface DatabaseDump {
  /** File name of the dump in the archive. */
  name: string;
  /** The service that runs the database (started alone, healthy, before the dump is loaded back). */
  service: string;
  dump(ctx: BackupContext, outFile: string): Promise<void>;
  restore(ctx: BackupContext, inFile: string): Promise<void>;
}

/** What a consistent backup of the log needs. */
export interface BackupSpec {
  /** Services stopped while the backup is taken (no writes reach the log). */
  pauseServices: readonly string[];
  /**
   * Paths (relative to the instance directory) not copied: a live database saved by a dump
   * instead, or an index the server rebuilds from the log by itself.
   */
  exclude: readonly string[];
  dumps: readonly DatabaseDump[];
  /** The checkpoint while paused, once the log is quiet (default: readHead through the instance URL). */
  pausedHead?(ctx: BackupContext): Promise<LogHead>;
}

/** What every stack has, whatever it serves. */
interface StackBase {
  kind: string;
  title: string;
  /** Memory the engine's host needs for the stack. */
  minMemoryBytes: number;
  directories: readonly StackDirectory[];
  /** Rendered templates holding secrets: written 0600 into the secrets directory. */
  secretTemplates: readonly string[];
  /** uid of the container user that reads the secrets (owner of the 0600 files). */
  secretsOwner: number;
  /** Makes or reuses the log key and the stack's secrets; adds its template variables. */
  configure(ctx: ConfigureContext): Promise<Configured>;
  /**
   * Services that others connect to, given fixed addresses on the internal network `network` and
   * named in every container's /etc/hosts: no connection inside the stack waits on the engine's
   * DNS. Templates read `{{ internal.subnet }}`, `{{ internal.ipam }}`,
   * `{{ internal.addr.SERVICE }}` and `{{ internal.extra_hosts }}`.
   */
  fixedAddresses?: { network: string; services: readonly string[] };
  /** Start order. Every service of the compose file is in one phase. */
  phases: readonly StartPhase[];
  backup: BackupSpec;
  /** Extra lines of the hand-over (label, value), e.g. the Trillian tree. */
  handover(state: InstanceState): Array<[string, string]>;
}

/** A stack that serves a transparency log: clients submit entries and read checkpoints and proofs. */
export interface LogStack extends StackBase {
  serves: 'log';
  /** Rekor's major API version clients speak to it (signing_config.json). */
  apiVersion: 1 | 2;
  /** Whether the stack can run a timestamp authority beside the log (install --tsa). */
  timestampAuthority: boolean;
  /** Whether the log sends its checkpoints to witnesses (install --witness-policy/--witness-instance). */
  witnessing?: boolean;
  /** The end-to-end smoke test of the log's API. */
  smoke(t: LogTarget): Promise<SmokeReport>;
  /** The log's current verified checkpoint. */
  readHead(t: LogTarget): Promise<LogHead>;
  /** Proves that checkpoint `to` extends `from` with the log's own proofs; throws when not. */
  proveConsistency(t: LogTarget, from: LogHead, to: LogHead): Promise<void>;
  /** One entry, proved into the log's current checkpoint. */
  readEntry(t: LogTarget, index: number): Promise<LogEntry>;
  /**
   * The entries [from, to) of any kind, proved into `head` (a checkpoint read with readHead):
   * what the monitor scans.
   */
  readEntryRange?(t: LogTarget, head: LogHead, from: number, to: number): Promise<RangeEntry[]>;
  /** Indexes of the entries whose signed digest is `digestHex`. */
  findEntries(t: LogTarget, digestHex: string): Promise<number[]>;
  /** Re-derives the whole tree the log publishes and checks it against `head` (when the stack can). */
  auditTree?(t: LogTarget, head: LogHead): Promise<string>;
  /**
   * The log can be switched read-only (its state's `readOnlySince`, rendered into its
   * configuration) and so be rotated: a new shard takes the writes (`log rotate`).
   */
  readOnlySwitch?: {
    /** Checks that the log refuses writes without writing anything; resolves to what it answered. */
    writesRefused(t: LogTarget): Promise<string>;
  };
}

/**
 * A stack that serves a witness: it has no log, entries or proofs of its own; it cosigns the
 * checkpoints of registered logs, never one inconsistent with what it cosigned before. Its state
 * (per log, the largest checkpoint it cosigned) is what must never go backwards.
 */
export interface WitnessStack extends StackBase {
  serves: 'witness';
  /** The end-to-end test of the running witness (TLS, an unknown log refused, a test log cosigned). */
  smoke(state: InstanceState): Promise<SmokeReport>;
  /**
   * Per log origin, the size of the latest checkpoint the witness cosigned, read from its database
   * files under the instance directory `dataDir` (a live instance, or one unpacked from a backup).
   */
  witnessedSizes(dataDir: string): Promise<Map<string, number>>;
}

export type Stack = LogStack | WitnessStack;

export function allServices(stack: Stack): string[] {
  return stack.phases.flatMap((p) => [...p.services]);
}
