/**
 * The serving limits of `bundle install`: what nginx allows each client address, and how often
 * rekor-tiles checkpoints. Each left out keeps the instance's value (state.json), else the default;
 * the values are checked by the install (USAGE_BAD_LIMIT names the option).
 */
import type { Argv } from 'yargs';
import type { ServingLimitsAsked } from '../instance/serving-limits.js';
import { lastValue } from './options.js';

export interface ServingArgs {
  writeRate?: string;
  writeBurst?: string;
  maxConnectionsPerClient?: string;
  maxBody?: string;
  proxyReadTimeout?: string;
  checkpointInterval?: string;
}

export function withServingLimits<T>(y: Argv<T>) {
  const kept = '(default: the instance keeps its value; a new one gets';
  return y
    .option('write-rate', {
      coerce: lastValue,
      type: 'string',
      describe: `writes per second from one client address before 429 ${kept} 60)`,
    })
    .option('write-burst', {
      coerce: lastValue,
      type: 'string',
      describe: `writes one address may send at once above the rate ${kept} 120)`,
    })
    .option('max-connections-per-client', {
      coerce: lastValue,
      type: 'string',
      describe: `open connections from one client address ${kept} 128)`,
    })
    .option('max-body', {
      coerce: lastValue,
      type: 'string',
      describe: `largest request body, like 1m or 512k (nginx and rekor-tiles) ${kept} 1m)`,
    })
    .option('proxy-read-timeout', {
      coerce: lastValue,
      type: 'string',
      describe: `seconds nginx waits for the log server's answer ${kept} 60)`,
    })
    .option('checkpoint-interval', {
      coerce: lastValue,
      type: 'string',
      describe: `how often rekor-tiles publishes a checkpoint, like 500ms or 2s; rekor-v2 only ${kept} 2s)`,
    });
}

/** The options given, for the install to check and resolve against the instance's own. */
export function servingLimitsAsked(a: ServingArgs): ServingLimitsAsked {
  return {
    writeRate: a.writeRate,
    writeBurst: a.writeBurst,
    maxConnectionsPerClient: a.maxConnectionsPerClient,
    maxBody: a.maxBody,
    proxyReadTimeout: a.proxyReadTimeout,
    checkpointInterval: a.checkpointInterval,
  };
}
