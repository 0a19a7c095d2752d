/**
 * Registry credentials from the Docker client's config (`$DOCKER_CONFIG/config.json` or
 * `~/.docker/config.json`): `auths[host].auth` (base64 user:password) or username/password.
 * Credential helpers are not run: an air-gap workstation rarely has them, and they would run code.
 *
 * No config file means anonymous access. A config file that cannot be read or is not a Docker
 * config is REGISTRY_CREDENTIALS_INVALID naming it: it is never taken for "no credentials".
 */
import os from 'node:os';
import path from 'node:path';
import { AirgapError } from '../errors.js';
import { isMissingFile, readRegularFileSync } from '../util/bounded-read.js';
import { readUntrustedJson } from '../util/untrusted-json.js';

export interface Credential {
  username: string;
  password: string;
  /** Where it came from, for error messages (never the secret). */
  source: string;
}

export function dockerConfigPath(): string {
  return path.join(process.env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json');
}

const HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];

/** Docker's config holds a few logins; far below this. */
const MAX_CONFIG = 4 * 1024 * 1024;

type Auths = Map<string, { auth?: string; username?: string; password?: string }>;

/** The config's `auths`, each entry's fields typed; undefined when there is no config file. */
function readAuths(configPath: string): Auths | undefined {
  let bytes: Buffer;
  try {
    // A link is followed: dotfile managers keep ~/.docker/config.json as one, and it is the
    // operator's own file. It must still be a regular file of bounded size.
    bytes = readRegularFileSync(
      configPath,
      MAX_CONFIG,
      'REGISTRY_CREDENTIALS_INVALID',
      'the registry credentials file',
      { followLinks: true },
    );
  } catch (e) {
    if (isMissingFile(e)) return undefined;
    throw e;
  }
  return parseDockerConfig(bytes, configPath);
}

/**
 * A Docker config's `auths` (other keys, credsStore included, are not used), or
 * REGISTRY_CREDENTIALS_INVALID naming the file and the field.
 */
export function parseDockerConfig(bytes: Uint8Array | string, configPath: string): Auths {
  const config = readUntrustedJson(
    bytes,
    { what: configPath, code: 'REGISTRY_CREDENTIALS_INVALID' },
    { maxBytes: MAX_CONFIG },
  );
  const auths: Auths = new Map();
  const a = config.at('auths');
  if (a.isAbsent) return auths;
  for (const key of a.keys()) {
    const entry = a.at(key);
    const auth = entry.at('auth').optString();
    const username = entry.at('username').optString();
    const password = entry.at('password').optString();
    auths.set(key, { ...(auth ? { auth } : {}), ...(username ? { username } : {}), ...(password ? { password } : {}) });
  }
  return auths;
}

export function credentialFor(registry: string, configPath = dockerConfigPath()): Credential | undefined {
  const auths = readAuths(configPath);
  if (!auths) return undefined;
  const keys =
    registry === 'docker.io' || registry === 'registry-1.docker.io'
      ? HUB_KEYS
      : [registry, `https://${registry}`, `http://${registry}`];
  for (const key of keys) {
    const entry = auths.get(key);
    if (!entry) continue;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(entry.auth)) {
        // Anonymous access would be a silent surprise: the operator meant to log in.
        throw new AirgapError(
          'REGISTRY_CREDENTIALS_INVALID',
          `${configPath}: auths["${key}"].auth is not base64 of user:password`,
        );
      }
      return {
        username: decoded.slice(0, colon),
        password: decoded.slice(colon + 1),
        source: `${configPath} (auths["${key}"], user ${decoded.slice(0, colon)})`,
      };
    }
    if (entry.username && entry.password)
      return {
        username: entry.username,
        password: entry.password,
        source: `${configPath} (auths["${key}"], user ${entry.username})`,
      };
  }
  return undefined;
}
