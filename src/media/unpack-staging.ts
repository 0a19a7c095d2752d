/**
 * The staging directory of an unpack, `<to>/.rekor-airgap-unpack`: verified files are written
 * under `files/` as the streaming pass checks them, and become the bundle only at commit, once every
 * byte of the medium verified. Its resume state names the transfer index it belongs to and each file
 * staged with its SHA-256. The state is a hint, never trust: `--resume` keeps a staged file only after
 * hashing it again, and the committed bundle is verified once more where it lies.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirgapError } from '../errors.js';
import { BundleLayout } from '../bundle/layout.js';
import type { BundleFile } from '../bundle/manifest.js';
import type { TrustedKeys } from '../bundle/trusted-manifest.js';
import { verifyBundleDir } from '../bundle/verify-dir.js';
import { hashFile } from '../oci/digest.js';
import { AtomicFile, fsyncDir, writeFileAtomic } from '../util/atomic-file.js';
import { isMissingFile, readRegularFile, SMALL_JSON_LIMIT } from '../util/bounded-read.js';
import { canonicalJson } from '../util/canonical-json.js';
import type { Progress } from '../util/progress.js';
import { isSafeRelativePath, safeFilePath } from '../util/safe-path.js';
import { readUntrustedJson } from '../util/untrusted-json.js';
import type { ArchiveHead } from './pack-format.js';
import { SHA256_HEX_PATTERN } from '../util/sha256.js';

const STAGING = '.rekor-airgap-unpack';
const STATE = 'state.json';
/**
 * The commit's journal: the files it is moving from the staging directory into the target. Written
 * before the first move and removed with the staging directory after the last, so a commit that
 * was killed midway is undone by the next run (see `undoInterruptedCommit`).
 */
const COMMIT_JOURNAL = 'commit.json';

/** What an unpack has staged so far: for the index of this SHA-256, each file's path and SHA-256. */
export interface UnpackState {
  indexSha256: string;
  files: Record<string, string>;
}

export interface Staging {
  /** The bundle directory being made: the real path of `--to`. */
  target: string;
  /** `<target>/.rekor-airgap-unpack`. */
  dir: string;
  state: UnpackState;
}

export interface StagingOptions {
  unpackTo: string;
  /** SHA-256 of the signed transfer index being unpacked. */
  indexSha256: string;
  resume: boolean;
  progress: Progress;
}

/**
 * Makes `--to` (it must be empty but for the staging directory) and its staging directory: kept, with
 * its state, when resuming the unpack of the same index; otherwise emptied.
 */
export async function openStaging(o: StagingOptions): Promise<Staging> {
  // The operator's --to may itself be reached through a link; below it, nothing is followed.
  await fsp.mkdir(o.unpackTo, { recursive: true });
  const target = await fsp.realpath(o.unpackTo);
  const dir = path.join(target, STAGING);
  if ((await fsp.lstat(dir).catch(() => undefined))?.isSymbolicLink()) {
    throw new AirgapError(
      'MEDIA_UNSAFE_PATH',
      `${dir} is a symbolic link; remove it (unpack never writes through a link)`,
    );
  }
  await undoInterruptedCommit(dir, target, o.progress);
  const others = (await fsp.readdir(target)).filter((n) => n !== STAGING);
  if (others.length)
    throw new AirgapError(
      'USAGE_OUT_NOT_EMPTY',
      `${target} is not empty (${others.slice(0, 3).join(', ')}); unpack writes to an empty directory`,
    );
  const resumed = o.resume ? await resumableState(dir, o) : undefined;
  if (!resumed) await fsp.rm(dir, { recursive: true, force: true });
  // A staging path that an earlier run (or someone else) left as a link is never written through.
  await fsp.mkdir(dir, { recursive: true });
  await safeFilePath(dir, `files/${STATE}`);
  return { target, dir, state: resumed ?? { indexSha256: o.indexSha256, files: {} } };
}

/** The earlier run's state when it unpacked this same index; undefined when there is nothing to resume. */
async function resumableState(dir: string, o: StagingOptions): Promise<UnpackState | undefined> {
  const prev = await readUnpackState(path.join(dir, STATE));
  if (!prev || prev.indexSha256 === o.indexSha256) return prev;
  o.progress.warn('the transfer index changed since the interrupted unpack; starting over');
  return undefined;
}

/**
 * The resume state in `file`, or undefined when there is none. One that cannot be read, or is not a
 * state this tool writes, is MEDIA_RESUME_STATE_INVALID naming the file: the tool writes it atomically,
 * so a damaged one means something else touched the staging directory, and the operator decides
 * (unpacking without --resume starts over) rather than the tool deleting it or guessing.
 */
export async function readUnpackState(file: string): Promise<UnpackState | undefined> {
  try {
    const bytes = await readRegularFile(file, SMALL_JSON_LIMIT, 'MEDIA_RESUME_STATE_INVALID', 'the resume state');
    return parseUnpackState(bytes, file);
  } catch (e) {
    if (e instanceof AirgapError && (e.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
    if (!(e instanceof AirgapError) || e.code !== 'MEDIA_RESUME_STATE_INVALID') throw e;
    throw new AirgapError(
      'MEDIA_RESUME_STATE_INVALID',
      `${e.message}; unpack again without --resume to start over (that removes ${path.dirname(file)})`,
      { cause: e },
    );
  }
}

/**
 * A resume state from its bytes: the index's SHA-256 and every staged file's, each 64 lowercase hex
 * digits. Other keys (an earlier version also recorded chunks) are ignored.
 */
export function parseUnpackState(bytes: Buffer, file: string): UnpackState {
  const doc = readUntrustedJson(bytes, { what: `the resume state ${file}`, code: 'MEDIA_RESUME_STATE_INVALID' });
  const indexSha256 = doc.at('indexSha256').string(SHA256_HEX_PATTERN);
  const files = doc.at('files');
  for (const p of files.keys()) files.at(p).string(SHA256_HEX_PATTERN);
  return { indexSha256, files: files.stringMap() };
}

export async function saveUnpackState(s: Staging): Promise<void> {
  await writeFileAtomic(path.join(s.dir, STATE), canonicalJson(s.state));
}

/** Where a file of the bundle is being staged: kept from an earlier run, or being written. */
export type StagedFile = { kept: true } | { kept: false; out: AtomicFile };

/**
 * Stages `f`: a file staged by an earlier run is kept only if the state lists it with the manifest's
 * SHA-256 and its bytes still hash to that; otherwise it is written anew (atomically, on commit).
 */
export async function stageFile(s: Staging, f: BundleFile, executable: boolean): Promise<StagedFile> {
  const dest = await safeFilePath(path.join(s.dir, 'files'), f.path);
  const kept =
    s.state.files[f.path] === f.sha256 &&
    (await fsp.lstat(dest).then(
      (st) => st.isFile() && st.size === f.size,
      () => false,
    )) &&
    (await hashFile(dest).then(
      (x) => x.sha256 === f.sha256,
      () => false,
    ));
  if (kept) return { kept };
  return {
    kept,
    out: await AtomicFile.open(dest, { mode: executable ? 0o755 : 0o644, diskFull: 'MEDIA_WRITE_DISK_FULL' }),
  };
}

/**
 * Commit: the staged files become the bundle, then the manifest and its signature; the staging
 * directory goes. The bundle is verified once more where it now lies before it is called done: what
 * was checked in staging is what the bundle directory holds. If not, nothing of it stays.
 */
export async function commitStaging(s: Staging, head: ArchiveHead, keys: TrustedKeys): Promise<string> {
  await writeFileAtomic(path.join(s.dir, COMMIT_JOURNAL), JSON.stringify(head.manifest.files.map((f) => f.path)));
  const dirs = new Set<string>([s.target]);
  for (const f of head.manifest.files) {
    const from = await safeFilePath(path.join(s.dir, 'files'), f.path);
    const to = await safeFilePath(s.target, f.path);
    await fsp.rename(from, to);
    dirs.add(path.dirname(to));
  }
  for (const d of dirs) await fsyncDir(d);
  await writeFileAtomic(path.join(s.target, BundleLayout.SIGNATURE), head.signatureText);
  await writeFileAtomic(path.join(s.target, BundleLayout.MANIFEST), head.manifestText);
  await fsp.rm(s.dir, { recursive: true, force: true });
  try {
    await verifyBundleDir(s.target, keys);
  } catch (e) {
    for (const f of [...head.manifest.files.map((x) => x.path), BundleLayout.MANIFEST, BundleLayout.SIGNATURE])
      await fsp.rm(path.join(s.target, f), { force: true });
    throw e;
  }
  return s.target;
}

/**
 * A commit killed midway left some files in the target and the rest in staging. They go back into
 * staging (where a resumed run hashes them again, and a fresh one removes them), the manifest and
 * signature it may have written are removed, and so are the directories the moves made: the run
 * then starts from a staging directory, as after any failed unpack. Nothing is trusted from the
 * journal but names, and those are plain relative paths checked like every other.
 */
async function undoInterruptedCommit(dir: string, target: string, progress: Progress): Promise<void> {
  const journal = path.join(dir, COMMIT_JOURNAL);
  let text: Buffer;
  try {
    text = await readRegularFile(
      journal,
      SMALL_JSON_LIMIT,
      'MEDIA_RESUME_STATE_INVALID',
      'the journal of an interrupted commit',
    );
  } catch (e) {
    if (isMissingFile(e)) return;
    throw e;
  }
  const paths = readUntrustedJson(text, { what: journal, code: 'MEDIA_RESUME_STATE_INVALID' })
    .list()
    .map((v) => v.string());
  if (!paths.every(isSafeRelativePath))
    throw new AirgapError('MEDIA_RESUME_STATE_INVALID', `${journal} names a path that is not a plain relative path`);
  progress.warn(
    `an earlier unpack into ${target} was interrupted while it moved the bundle in: putting its files back into staging`,
  );
  for (const rel of [BundleLayout.MANIFEST, BundleLayout.SIGNATURE])
    await fsp.rm(path.join(target, rel), { force: true });
  const dirs = new Set<string>();
  for (const rel of paths) {
    for (let d = path.dirname(rel); d !== '.'; d = path.dirname(d)) dirs.add(d);
    if (!(await isRegularFile(path.join(target, rel)))) continue;
    await fsp.rename(await safeFilePath(target, rel), await safeFilePath(path.join(dir, 'files'), rel));
  }
  // The directories the moves made, emptied again (one still holding something stays, and is named).
  const deepestFirst = [...dirs].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const d of deepestFirst) await fsp.rmdir(path.join(target, d)).catch(() => undefined);
  await fsp.rm(journal, { force: true });
}

async function isRegularFile(p: string): Promise<boolean> {
  return fsp.lstat(p).then(
    (st) => st.isFile(),
    () => false,
  );
}
