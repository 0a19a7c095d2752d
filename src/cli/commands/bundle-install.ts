import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { CHECK_NAMES } from '../../install/check-names.js';
import { printResult, progressFor, type CommonArgs } from '../output.js';
import { lastValue, typed, withCommon, withTrust } from '../options.js';
import { engineForCommand } from '../engine-edge.js';
import { servingLimitsAsked, withServingLimits, type ServingArgs } from '../serving-options.js';

interface Args extends CommonArgs, ServingArgs {
  bundle: string;
  trust: string[];
  profile?: string;
  instance: string;
  dataDir?: string;
  hostname?: string;
  origin?: string;
  port?: number;
  bind?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  timeout: number;
  skipCheck: string[];
  dryRun: boolean;
  smoke: boolean;
  allowDowngrade: boolean;
  tsa: boolean;
  keepCaKey: boolean;
  witnessPolicy?: string;
  witnessCa?: string;
  witnessInstance: string[];
  witnessQuorum?: number;
  witnessName?: string;
}

/** Which stack of the bundle, and the instance it becomes: its name and directory. */
function withPlacement<T>(y: Argv<T>) {
  return y
    .option('profile', {
      coerce: lastValue,
      type: 'string',
      describe: 'which stack, when the bundle holds several (rekor-v2, rekor-v1)',
    })
    .option('instance', {
      coerce: lastValue,
      type: 'string',
      default: 'default',
      describe: 'instance name: each has its own ports, keys, data and compose project',
    })
    .option('data-dir', {
      coerce: lastValue,
      type: 'string',
      describe: 'instance directory (default /var/lib/rekor-airgap/<instance>)',
    });
}

/** How clients reach the log: its name, checkpoint origin, port and address. */
function withServing<T>(y: Argv<T>) {
  return y
    .option('hostname', {
      coerce: lastValue,
      type: 'string',
      describe: "name clients use (TLS certificate, URL); default: this host's name",
    })
    .option('origin', {
      coerce: lastValue,
      type: 'string',
      describe: 'checkpoint origin of the log (default: the hostname; never changes later)',
    })
    .option('port', {
      coerce: lastValue,
      type: 'number',
      describe: "HTTPS port (default: the profile's, 3443 for rekor-v2)",
    })
    .option('bind', {
      coerce: lastValue,
      type: 'string',
      describe: 'address to publish the port on (default 0.0.0.0)',
    })
    .option('witness-name', {
      coerce: lastValue,
      type: 'string',
      describe:
        "a witness's name: the key name on its cosignatures, which logs' policies name (default: the hostname; never changes later)",
    });
}

/** A server certificate the operator brings, instead of the CA the install generates. */
function withTlsOptions<T>(y: Argv<T>) {
  return y
    .option('tls-cert', {
      type: 'string',
      describe: 'use this server certificate (PEM) instead of generating a CA',
    })
    .option('tls-key', { type: 'string', describe: 'private key of --tls-cert' })
    .option('tls-ca', { type: 'string', describe: 'CA that issued --tls-cert (clients trust this)' });
}

/** How the install runs: how long it waits, what it checks, skips, keeps, allows and adds. */
function withInstallRun<T>(y: Argv<T>) {
  return y
    .option('timeout', {
      coerce: lastValue,
      type: 'number',
      default: 300,
      describe: 'seconds to wait for the services to become healthy',
    })
    .option('skip-check', {
      type: 'string',
      array: true,
      default: [] as string[],
      choices: [...CHECK_NAMES],
      describe: 'skip one preflight check (repeatable)',
    })
    .option('dry-run', {
      type: 'boolean',
      default: false,
      describe: 'verify and preflight only; print what would be done',
    })
    .option('keep-ca-key', {
      type: 'boolean',
      default: false,
      describe:
        "keep the generated TLS CA's private key in the instance's secrets (by default it is discarded once the server certificate is made)",
    })
    .option('allow-downgrade', {
      type: 'boolean',
      default: false,
      describe: 'install a bundle whose release is lower than one this instance has run (refused by default)',
    })
    .option('smoke', {
      type: 'boolean',
      default: true,
      describe: 'run the smoke test after start (--no-smoke to skip)',
    })
    .option('tsa', {
      type: 'boolean',
      default: false,
      describe:
        'also run a timestamp authority (RFC 3161, at URL/api/v1/timestamp) with a key and certificate chain the install makes; stays on for later installs',
    });
}

/** The witnesses a Rekor v2 log sends its checkpoints to, and the quorum this tool enforces. */
function withWitnesses<T>(y: Argv<T>) {
  return y
    .option('witness-policy', {
      coerce: lastValue,
      type: 'string',
      describe:
        'witness policy file (C2SP tlog-policy: "witness NAME VKEY URL", "group NAME all|any|K NAME...", "quorum NAME"): the log sends each checkpoint to these witnesses and every reader of this tool enforces the quorum',
    })
    .option('witness-ca', {
      coerce: lastValue,
      type: 'string',
      describe: "CA (PEM) that issued the certificates of --witness-policy's witnesses",
    })
    .option('witness-instance', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'a witness installed on this host (bundle install --profile witness); repeatable',
    })
    .option('witness-quorum', {
      coerce: lastValue,
      type: 'number',
      describe: 'how many of the --witness-instance witnesses must cosign each checkpoint (default: all)',
    });
}

export const bundleInstallCommand = {
  command: 'install <bundle>',
  describe:
    'on the offline host: verify the bundle, preflight, load images (no registry), configure, start, smoke-test',
  builder: (y) => {
    const bundle = withTrust(withCommon(y)).positional('bundle', {
      type: 'string',
      demandOption: true,
      describe: 'unpacked bundle directory',
    });
    return typed<Args>(
      withWitnesses(withInstallRun(withTlsOptions(withServingLimits(withServing(withPlacement(bundle))))))
        .example('$0 bundle install ./bundle --trust bundle-signing.pub --hostname rekor.site.internal', '')
        .example('./install.sh --trust bundle-signing.pub --instance tenant-b --port 4443', 'from the bundle itself')
        .example(
          '$0 bundle install ./bundle --trust bundle-signing.pub --profile witness --instance witness-a --hostname witness-a.site.internal',
          'a witness from the same bundle; the hand-over prints the policy line logs need',
        )
        .example(
          '$0 bundle install ./bundle --trust bundle-signing.pub --witness-instance witness-a --witness-instance witness-b --witness-quorum 2',
          'a log that needs both witnesses',
        ),
    );
  },
  handler: async (args) => {
    const { installBundle } = await import('../../install/install.js');
    const { handoverText, handoverJson } = await import('../handover.js');
    const r = await installBundle({
      engine: await engineForCommand(),
      bundleDir: args.bundle,
      trust: args.trust,
      instance: args.instance,
      limits: servingLimitsAsked(args),
      timeoutSec: args.timeout,
      skipChecks: args.skipCheck,
      dryRun: args.dryRun,
      smoke: args.smoke,
      allowDowngrade: args.allowDowngrade,
      keepCaKey: args.keepCaKey,
      tsa: args.tsa,
      witness: {
        instances: args.witnessInstance,
        ...(args.witnessPolicy ? { policyFile: args.witnessPolicy } : {}),
        ...(args.witnessCa ? { caFile: args.witnessCa } : {}),
        ...(args.witnessQuorum !== undefined ? { quorum: args.witnessQuorum } : {}),
      },
      progress: progressFor(args),
      ...(args.profile ? { profile: args.profile } : {}),
      ...(args.dataDir ? { dataDir: args.dataDir } : {}),
      ...(args.hostname ? { hostname: args.hostname } : {}),
      ...(args.origin ? { origin: args.origin } : {}),
      ...(args.witnessName ? { witnessName: args.witnessName } : {}),
      ...(args.port ? { port: args.port } : {}),
      ...(args.bind ? { bindAddress: args.bind } : {}),
      ...(args.tlsCert ? { tlsCert: args.tlsCert } : {}),
      ...(args.tlsKey ? { tlsKey: args.tlsKey } : {}),
      ...(args.tlsCa ? { tlsCa: args.tlsCa } : {}),
    });
    if (r.dryRun) {
      printResult(
        args,
        { dryRun: true, mode: r.mode, preflight: r.preflight, plan: r.state },
        [
          `dry run: preflight passed; a ${r.mode} install would:`,
          `  load ${Object.values(r.state.images)
            .map((i) => i.ref)
            .join(', ')}`,
          `  write keys, TLS and configuration under ${r.state.dataDir}`,
          `  start compose project ${r.state.project} and serve ${r.state.url} (origin ${r.state.origin})`,
        ].join('\n'),
      );
      return;
    }
    printResult(
      args,
      {
        mode: r.mode,
        ...handoverJson(r.state),
        imagesLoaded: r.imagesLoaded,
        imagesPresent: r.imagesPresent,
        preflight: r.preflight,
        smoke: r.smoke ?? null,
        receipt: r.receipt ?? null,
      },
      `${r.mode === 'fresh' ? 'installed' : r.mode === 'rerun' ? 'already installed, unchanged' : 'upgraded'}: instance ${r.state.instance} (${r.state.profile})\n` +
        (r.smoke ? `smoke test passed: ${r.smoke.checks.length} checks\n` : '') +
        (r.receipt
          ? `install receipt: log entry ${r.receipt.logIndex} (sha256:${r.receipt.statementSha256}); statement, signature and key in ${path.join(r.state.dataDir, 'receipt')}\n`
          : '') +
        handoverText(r.state),
    );
  },
} satisfies CommandModule<object, Args>;
