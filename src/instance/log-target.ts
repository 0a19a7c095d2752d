/** How this host reaches an installed instance's log: its URL, CA, key and origin. */
import { promises as fsp } from 'node:fs';
import { AirgapError } from '../errors.js';
import type { LogTarget } from '../rekor/target.js';
import { instancePaths } from './layout.js';
import type { InstanceState } from './state.js';

export async function logTargetOf(state: InstanceState): Promise<LogTarget> {
  const p = instancePaths(state.dataDir);
  const ca = await fsp.readFile(p.caCert, 'utf8').catch((e: Error) => {
    throw new AirgapError('USAGE_CA_UNREADABLE', `cannot read the instance CA ${p.caCert}: ${e.message}`);
  });
  // From the install host the log is reached locally; TLS still checks the certificate for the hostname.
  const connectAddress =
    state.bindAddress === '0.0.0.0' || state.bindAddress === '::' ? '127.0.0.1' : state.bindAddress;
  const tsaChainPem =
    state.stack.tsa === 'on'
      ? await fsp.readFile(p.tsaChain, 'utf8').catch((e: Error) => {
          throw new AirgapError(
            'USAGE_CA_UNREADABLE',
            `cannot read the timestamp authority's chain ${p.tsaChain}: ${e.message}`,
          );
        })
      : undefined;
  return {
    endpoint: { url: state.url, ca, connectAddress },
    logKeyPem: state.logPublicKeyPem,
    origin: state.origin,
    label: state.instance,
    ...(tsaChainPem ? { tsaChainPem } : {}),
  };
}
