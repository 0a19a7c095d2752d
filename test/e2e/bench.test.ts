/**
 * The benchmark suite at one small size, so it cannot rot: every step runs, against its anchor,
 * and the report has a number in every cell. (Figures are not asserted: they are measured by
 * `npm run bench` on an idle machine and written to BENCHMARKS.md.)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';
import { rig } from '../helpers/rig.js';

describe.skipIf(!rig)('bench/run.mjs', () => {
  it('runs every step at 16 MiB and writes a complete report', () => {
    const out = path.join(tempDir('bench-'), 'BENCHMARKS.md');
    execFileSync(
      process.execPath,
      [
        path.join(ROOT, 'bench/run.mjs'),
        '--size',
        '16',
        '--runs',
        '1',
        '--rss-sizes',
        '16',
        '--no-install',
        '--out',
        out,
      ],
      { stdio: 'pipe', timeout: 600_000 },
    );
    const md = readFileSync(out, 'utf8');
    for (const step of [
      'create',
      'floor of create',
      'pack',
      'verify the chunks',
      'both cores',
      'coreutils',
      'unpack',
      'load',
    ]) {
      const row = md.split('\n').find((l) => l.startsWith('|') && l.includes(step));
      expect(row, step).toBeDefined();
      expect(row!, step).toMatch(/\| \d+\.\d\d s \|.*\| \d+\.\d\d s \| \d+\.\d\d× \|$/);
    }
    expect(md).toMatch(/\| 16 MiB \| \d+ MB \| \d+ MB \| \d+ MB \| \d+ MB \| \d+ MB \|/);
  });
});
