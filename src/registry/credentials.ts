/**
 * Registry credentials from the Docker client's config (`$DOCKER_CONFIG/config.json` or
 * `~/.docker/config.json`): `auths[host].auth` (base64 user:password) or username/password.
 * Credential helpers are not run: an air-gap workstation rarely has them, and they would run code.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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

export function credentialFor(registry: string, configPath = dockerConfigPath()): Credential | undefined {
  let config: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch {
    return undefined;
  }
  const auths = config.auths ?? {};
  const keys = registry === 'docker.io' || registry === 'registry-1.docker.io' ? HUB_KEYS : [registry, `https://${registry}`, `http://${registry}`];
  for (const key of keys) {
    const entry = auths[key];
    if (!entry) continue;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source: `${configPath} (auths["${key}"], user ${decoded.slice(0, colon)})` };
    }
    if (entry.username && entry.password) return { username: entry.username, password: entry.password, source: `${configPath} (auths["${key}"], user ${entry.username})` };
  }
  return undefined;
}
