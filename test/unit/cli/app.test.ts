/**
 * The CLI parsed and run in-process (no child process, no `process` streams): every command's
 * --help, the options with a --no- form, every command line the README shows, and the exit-code
 * table the README documents.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/app.js';
import { lockMode } from '../../../src/cli/commands/bundle-create.js';
import { exitCodesTable } from '../../../src/cli/exit-codes.js';
import { bufferIo } from '../../../src/cli/output.js';
import {
  ERROR_EXIT,
  exitCodeFor,
  ExitCode,
  isLogCheckFailure,
  isTransientError,
  AirgapError,
  type ErrorCode,
} from '../../../src/errors.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

async function parse(
  argv: string[],
): Promise<{ code: number; args: Record<string, unknown> | undefined; out: string; err: string }> {
  const io = bufferIo();
  let args: Record<string, unknown> | undefined;
  const code = await runCli(argv, io, {
    parseOnly: true,
    onParsed: (a) => {
      args = a;
    },
  });
  return { code, args, out: io.stdout(), err: io.stderr() };
}

/**
 * Every command the app has, read from its own --help (each "Commands:" section, recursively), so
 * a new command is covered without editing this list. A group (`bundle <command>`) only lists its
 * commands; every other entry, including one that also has commands of its own (`backup`), runs.
 */
async function commandsOf(prefix: string[] = []): Promise<string[]> {
  const { out } = await parse([...prefix, '--help']);
  const section = out.split(/\n(?=\S)/).find((s) => s.startsWith('Commands:')) ?? '';
  const found: string[] = [];
  for (const m of section.matchAll(/^ {2}rekor-airgap ((?:[a-z0-9-]+ )*[a-z0-9-]+)( <command>)?/gm)) {
    const words = m[1]!.split(' ');
    if (words.length <= prefix.length) continue;
    if (!m[2]) found.push(words.join(' '));
    found.push(...(await commandsOf(words)));
  }
  return [...new Set(found)];
}
const COMMANDS = await commandsOf();

describe('the app, in-process', () => {
  it('finds every command in the app: the groups and what they hold', () => {
    expect(COMMANDS).toEqual(
      expect.arrayContaining([
        'bundle create',
        'bundle push',
        'backup',
        'backup drill',
        'backup verify',
        'restore',
        'trust export',
        'k8s values',
        'log get',
        'doctor',
        'smoke',
        'status',
      ]),
    );
    expect(COMMANDS.length).toBeGreaterThanOrEqual(20);
  });

  it.each(COMMANDS)('`%s --help` teaches: options, an example, the exit codes', async (cmd) => {
    const r = await parse([...cmd.split(' '), '--help']);
    expect(r.code, r.err).toBe(0);
    expect(r.args).toBeUndefined();
    expect(r.out).toContain(`rekor-airgap ${cmd}`);
    expect(r.out).toContain('--json');
    expect(r.out).toContain('Exit codes:');
    expect(r.out).toContain('Examples:');
  });

  it('--insecure-registry means one thing everywhere: a registry host that may be reached over plain HTTP (repeatable)', async () => {
    for (const cmd of [
      ['bundle', 'create', '--profile', 'rekor-v2', '--out', 'b', '--key', 'k'],
      ['bundle', 'push', 'b', '--trust', 't.pub', '--registry', 'r:5000'],
    ]) {
      const r = await parse([...cmd, '--insecure-registry', 'r:5000', '--insecure-registry', 'mirror:5000']);
      expect(r.code, r.err).toBe(0);
      expect(r.args?.insecureRegistry, cmd.join(' ')).toEqual(['r:5000', 'mirror:5000']);
    }
  });

  it('an unknown flag is a usage error (exit 2) that points at --help', async () => {
    const r = await parse(['bundle', 'pack', './b', '--out', 'o', '--key', 'k', '--bogus']);
    expect(r.code).toBe(ExitCode.USAGE);
    expect(r.err).toMatch(/error \[USAGE_INVALID\]: Unknown argument: bogus/);
    expect(r.err).toContain('see: rekor-airgap bundle pack --help');
  });

  it('a missing required option names it', async () => {
    const r = await parse(['bundle', 'create', '--out', 'x']);
    expect(r.code).toBe(ExitCode.USAGE);
    expect(r.err).toMatch(/Missing required argument: key/);
  });

  it('output goes to the injected streams, not to the process', async () => {
    const io = bufferIo();
    const code = await runCli(['--version'], io);
    expect(code).toBe(0);
    expect(io.stdout()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('a handler error is printed as "error [CODE]" with its exit code, in-process', async () => {
    const io = bufferIo();
    const code = await runCli(
      ['status', '--instance', 'no-such-instance', '--data-dir', '/nonexistent/rekor-airgap-test'],
      io,
    );
    expect(code).toBe(ExitCode.INSTALL);
    expect(io.stderr()).toMatch(
      /^error \[INSTALL_NO_INSTANCE\]: no instance no-such-instance at \/nonexistent\/rekor-airgap-test/,
    );
  });
});

describe('options with a --no- form', () => {
  it('bundle create --no-lock ignores lock files (it parsed as lock: false and the lock was still enforced)', async () => {
    const r = await parse(['bundle', 'create', '--out', 'o', '--key', 'k', '--no-lock']);
    expect(r.code, r.err).toBe(0);
    expect(r.args?.lock).toBe(false);
    expect(lockMode(r.args?.lock as false)).toBe('none');
    const withFile = await parse(['bundle', 'create', '--out', 'o', '--key', 'k', '--lock', 'my.lock.json']);
    expect(lockMode(withFile.args?.lock as string)).toBe('my.lock.json');
    const neither = await parse(['bundle', 'create', '--out', 'o', '--key', 'k']);
    expect(lockMode(neither.args?.lock as undefined)).toBe('auto');
  });

  // Every boolean option, with the required arguments of its command.
  const BOOLEANS: Array<[string[], string[]]> = [
    [
      ['bundle', 'install', './b'],
      ['smoke', 'dry-run', 'allow-downgrade', 'keep-ca-key', 'json', 'quiet'],
    ],
    [
      ['bundle', 'create', '--out', 'o', '--key', 'k'],
      ['force', 'json', 'quiet'],
    ],
    [
      ['bundle', 'unpack', './m', '--to', 't'],
      ['resume', 'json', 'quiet'],
    ],
    [
      ['bundle', 'uninstall', '--instance', 'a'],
      ['purge', 'json', 'quiet'],
    ],
    [
      ['bundle', 'verify', './m'],
      ['json', 'quiet'],
    ],
    [['smoke'], ['json', 'quiet']],
    [['status'], ['json', 'quiet']],
  ];
  for (const [base, flags] of BOOLEANS) {
    for (const flag of flags) {
      it(`${base.slice(0, 2).join(' ')} --no-${flag} / --${flag}`, async () => {
        const camel = flag.replace(/-(\w)/g, (_m, c: string) => c.toUpperCase());
        const off = await parse([...base, `--no-${flag}`]);
        expect(off.code, off.err).toBe(0);
        expect(off.args?.[camel]).toBe(false);
        const on = await parse([...base, `--${flag}`]);
        expect(on.code, on.err).toBe(0);
        expect(on.args?.[camel]).toBe(true);
      });
    }
  }
});

/** Command lines of the README's sh blocks (continuations joined), as argv. */
function readmeCommandLines(): Array<{ line: string; argv: string[] }> {
  const out: Array<{ line: string; argv: string[] }> = [];
  for (const block of README.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const joined = block[1]!.replace(/\\\n\s*/g, ' ');
    for (const raw of joined.split('\n')) {
      const line = raw.replace(/\s+#.*$/, '').trim();
      let argv: string[] | undefined;
      if (line.startsWith('rekor-airgap ')) argv = words(line.slice('rekor-airgap '.length));
      else if (/^\S*install\.sh\b/.test(line))
        argv = ['bundle', 'install', '/srv/rekor-bundle', ...words(line.replace(/^\S*install\.sh\s*/, ''))];
      if (argv) out.push({ line, argv });
    }
  }
  return out;
}

function words(s: string): string[] {
  // Optional parts ([--mirror ...]) are taken as given, without the brackets.
  return s.replace(/[[\]]/g, ' ').split(/\s+/).filter(Boolean);
}

describe("the README's command lines", () => {
  const lines = readmeCommandLines();
  it('are found (the README shows the journey)', () => {
    expect(lines.length).toBeGreaterThanOrEqual(10);
  });
  it.each(lines.map((l) => [l.line, l.argv] as const))('parses: %s', async (_line, argv) => {
    const r = await parse(argv);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.args).toBeDefined();
  });
});

describe('exit codes', () => {
  it("the README's table is the code's table, row for row", () => {
    const section = README.slice(README.indexOf('## Exit codes'));
    const rows = [...section.matchAll(/^\| (\d+) \| (.+?) \|$/gm)].map((m) => ({ code: Number(m[1]), meaning: m[2] }));
    expect(rows).toEqual(exitCodesTable().map((e) => ({ code: e.code, meaning: e.meaning })));
  });

  it('an internal bug exits 1, not as a failed proof or a failed verification', () => {
    expect(ERROR_EXIT.SMOKE_INTERNAL).toBe(ExitCode.INTERNAL);
    expect(ERROR_EXIT.MEDIA_INTERNAL).toBe(ExitCode.INTERNAL);
    expect(ERROR_EXIT.INTERNAL_BUG).toBe(ExitCode.INTERNAL);
  });

  it('the table says which failures are transient (retried) and which are a log check failing (install reports the services)', () => {
    const transient = Object.keys(ERROR_EXIT).filter((c) => isTransientError(new AirgapError(c as ErrorCode, '')));
    expect(transient.sort()).toEqual([
      'ARTIFACT_STREAM_BROKEN',
      'ARTIFACT_UNREACHABLE',
      'ENGINE_UNREACHABLE',
      'REGISTRY_SERVER_ERROR',
      'REGISTRY_STREAM_BROKEN',
      'REGISTRY_UNREACHABLE',
      'SMOKE_STREAM_BROKEN',
      'SMOKE_UNREACHABLE',
    ]);
    for (const c of ['REGISTRY_DIGEST_MISMATCH', 'REGISTRY_TIMEOUT', 'SMOKE_REJECTED'] as const)
      expect(isTransientError(new AirgapError(c, ''))).toBe(false);
    for (const c of [
      'SMOKE_UNREACHABLE',
      'SMOKE_REJECTED',
      'MERKLE_INCLUSION_INVALID',
      'NOTE_SIGNATURE_INVALID',
      'SMOKE_PROOF_TILES',
    ] as const) {
      expect(isLogCheckFailure(new AirgapError(c, '')), c).toBe(true);
    }
    for (const c of ['LOG_FORK', 'INSTALL_SERVICE_FAILED', 'SMOKE_INTERNAL'] as const)
      expect(isLogCheckFailure(new AirgapError(c, '')), c).toBe(false);
  });

  it('every exit code but success and interruption has at least one error code', () => {
    const used = new Set(Object.keys(ERROR_EXIT).map((c) => exitCodeFor(c as ErrorCode)));
    for (const e of exitCodesTable()) if (e.code !== 0) expect(used.has(e.code as never), `exit ${e.code}`).toBe(true);
  });
});
