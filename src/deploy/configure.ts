/**
 * The instance's files: its directories, the rendered templates (secrets 0600 in secrets/,
 * scripts 0755 in scripts/, the rest in config/), and a snapshot of them so a failed upgrade can
 * put them back.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirgapError } from '../errors.js';
import type { InstancePaths } from '../instance/layout.js';
import { renderTemplate, type TemplateVars } from '../instance/render.js';
import { writeSecret } from '../instance/secrets.js';
import type { Stack, StackDirectory } from '../stacks/stack.js';
import { writeFileAtomic } from '../util/atomic-file.js';

export interface TemplateSource {
  profile: string;
  /** A template's verified bytes. */
  read(name: string): Promise<Buffer>;
}

const BASE_DIRS: readonly StackDirectory[] = [
  { path: 'dataDir', mode: 0o755 },
  { path: 'config', mode: 0o755 },
  { path: 'scripts', mode: 0o755 },
  { path: 'tls', mode: 0o755 },
  { path: 'secrets', mode: 0o711 },
];

export async function prepareInstanceDirs(p: InstancePaths, stackDirs: readonly StackDirectory[]): Promise<void> {
  for (const d of [...BASE_DIRS, ...stackDirs]) {
    const dir = p[d.path];
    await fsp.mkdir(dir, { recursive: true, mode: d.mode });
    await fsp.chmod(dir, d.mode);
    if (d.owner !== undefined) await fsp.chown(dir, d.owner, d.owner);
  }
}

/** A template name from a profile is a plain file name: no directory, no `..`. */
export function checkTemplateName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.includes('..')) {
    throw new AirgapError('PROFILE_INVALID', `template name ${JSON.stringify(name)} must be a plain file name`);
  }
}

/** Where a rendered template goes: secrets 0600 in secrets/, scripts 0755 in scripts/, the rest in config/. */
export function renderedFile(
  stack: Stack,
  p: InstancePaths,
  name: string,
): { file: string; secret: boolean; mode: number } {
  checkTemplateName(name);
  if (stack.secretTemplates.includes(name)) return { file: path.join(p.secrets, name), secret: true, mode: 0o600 };
  if (name.endsWith('.sh')) return { file: path.join(p.scripts, name), secret: false, mode: 0o755 };
  return { file: path.join(p.config, name), secret: false, mode: 0o644 };
}

/** `{{ files.NAME }}`: the rendered path of each template (`app.flags` → `files.app_flags`). */
export function renderedFilesVars(stack: Stack, p: InstancePaths, names: readonly string[]): TemplateVars {
  return Object.fromEntries(names.map((n) => [n.replace(/\W/g, '_'), renderedFile(stack, p, n).file]));
}

export async function renderTemplates(
  src: TemplateSource,
  stack: Stack,
  p: InstancePaths,
  vars: TemplateVars,
  names: readonly string[],
): Promise<void> {
  for (const name of names) {
    const dest = renderedFile(stack, p, name);
    const out = renderTemplate((await src.read(name)).toString('utf8'), vars, `${src.profile}/${name}`);
    // An unchanged file is left as it is: a service that mounts it restarts only for a change.
    if (await sameContent(dest.file, out)) continue;
    if (dest.secret) await writeSecret(dest.file, out, stack.secretsOwner);
    else await writeFileAtomic(dest.file, out, dest.mode);
  }
}

async function sameContent(file: string, text: string): Promise<boolean> {
  const now = await fsp.readFile(file).catch(() => undefined);
  return now !== undefined && now.equals(Buffer.from(text));
}

/** Copies of the rendered files, so a failed upgrade can put them back. */
export async function snapshotConfig(p: InstancePaths): Promise<Map<string, Buffer>> {
  const snap = new Map<string, Buffer>();
  for (const dir of [p.config, p.secrets, p.scripts]) {
    for (const f of await fsp.readdir(dir).catch(() => [] as string[])) {
      const full = path.join(dir, f);
      if ((await fsp.lstat(full)).isFile()) snap.set(full, await fsp.readFile(full));
    }
  }
  return snap;
}

export async function restoreConfig(snap: Map<string, Buffer>): Promise<void> {
  for (const [file, bytes] of snap) {
    const st = await fsp.stat(file).catch(() => undefined);
    await writeFileAtomic(file, bytes, st ? st.mode & 0o777 : 0o600);
    if (st) await fsp.chown(file, st.uid, st.gid);
  }
}

/** The instance's own copy of its profile's templates (`templates/`), for a restore to render. */
export async function keepTemplates(p: InstancePaths, names: readonly string[], src: TemplateSource): Promise<void> {
  await fsp.mkdir(p.templates, { recursive: true, mode: 0o755 });
  for (const name of names) {
    checkTemplateName(name);
    await writeFileAtomic(path.join(p.templates, name), await src.read(name), 0o644);
  }
}

/** Templates kept in the instance by `keepTemplates`. */
export function instanceTemplates(p: InstancePaths, profile: string): TemplateSource {
  return {
    profile,
    read: async (name) => {
      checkTemplateName(name);
      return fsp.readFile(path.join(p.templates, name)).catch((e: Error) => {
        throw new AirgapError(
          'RESTORE_FAILED',
          `the instance has no copy of template ${name} (${e.message}); it was installed by an older rekor-airgap — install the bundle again first`,
        );
      });
    },
  };
}

/** Names of the templates an instance keeps. */
export async function keptTemplateNames(p: InstancePaths): Promise<string[]> {
  return (await fsp.readdir(p.templates).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort();
}
