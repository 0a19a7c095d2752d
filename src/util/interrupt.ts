/**
 * Work that must not be left half-done when the operator presses Ctrl-C (or systemd stops a
 * timer's run): writes paused for a backup, a scratch instance of a drill. A command registers an
 * undo step while it holds such a state; the bin runs the registered steps before it exits.
 */
type Undo = { label: string; run: () => Promise<unknown> };

const pending = new Set<Undo>();

/** Registers `run` until the returned function is called (normally in a finally block). */
export function onInterrupt(label: string, run: () => Promise<unknown>): () => void {
  const u = { label, run };
  pending.add(u);
  return () => {
    pending.delete(u);
  };
}

/** Runs every registered undo step (newest first), each at most `timeoutMs`; reports on `say`. */
export async function runInterruptUndo(say: (line: string) => void, timeoutMs = 60_000): Promise<void> {
  for (const u of [...pending].reverse()) {
    pending.delete(u);
    say(`interrupted: ${u.label}`);
    await Promise.race([
      u.run().catch((e: Error) => say(`  failed: ${e.message}`)),
      new Promise((r) => setTimeout(r, timeoutMs).unref()),
    ]);
  }
}
