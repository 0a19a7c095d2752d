/**
 * Progress for long work, on stderr: a redrawn byte bar on a terminal, plain lines otherwise
 * (one every few seconds at most), nothing when quiet.
 */
export interface Progress {
  step(message: string): void;
  /** Starts a byte counter for a named piece of work. */
  startBytes(label: string, total: number): void;
  addBytes(n: number): void;
  endBytes(): void;
  warn(message: string): void;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** Where progress goes: a writer and whether it is a terminal. */
export interface ProgressStream {
  write(text: string): void;
  isTTY?: boolean;
}

export function createProgress(opts: { quiet?: boolean; stream?: ProgressStream } = {}): Progress {
  const out: ProgressStream = opts.stream ?? {
    write: (t) => {
      process.stderr.write(t);
    },
    isTTY: Boolean(process.stderr.isTTY),
  };
  const tty = Boolean(out.isTTY) && !opts.quiet;
  let label = '';
  let total = 0;
  let done = 0;
  let lastDraw = 0;
  const draw = (force = false): void => {
    if (opts.quiet) return;
    const now = Date.now();
    if (!force && now - lastDraw < (tty ? 100 : 5000)) return;
    lastDraw = now;
    const pct = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
    if (tty) {
      const width = 30;
      const fill = Math.round((pct / 100) * width);
      out.write(
        `\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${pct}% ${formatBytes(done)}/${formatBytes(total)}\x1b[K`,
      );
    } else {
      out.write(`${label}: ${formatBytes(done)} of ${formatBytes(total)} (${pct}%)\n`);
    }
  };
  return {
    step(message) {
      if (!opts.quiet) out.write(`${tty && label ? '\n' : ''}${message}\n`);
    },
    startBytes(l, t) {
      label = l;
      total = t;
      done = 0;
      lastDraw = 0;
    },
    addBytes(n) {
      done += n;
      draw();
    },
    endBytes() {
      draw(true);
      if (tty) out.write('\n');
      label = '';
    },
    warn(message) {
      if (!opts.quiet) out.write(`warning: ${message}\n`);
    },
  };
}

export const silentProgress: Progress = createProgress({ quiet: true });
