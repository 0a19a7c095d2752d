import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Vitest leaves a core free by default (one worker on a two-core machine); the unit files run
    // on both. The end-to-end project keeps to one file at a time (fileParallelism below).
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          // Unit files share nothing (each makes its own temporary directories and loopback
          // servers): they run side by side, one worker per core,
          fileParallelism: true,
          // and share each worker's loaded modules (no per-file reload): every file makes its own
          // directories, servers and keys, and nothing in src/ keeps state between calls.
          isolate: false,
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/setup.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'e2e',
          // The end-to-end suites share two Docker engines: one test file at a time.
          include: ['test/e2e/**/*.test.ts'],
          setupFiles: ['test/setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 900_000,
          fileParallelism: false,
          sequence: { concurrent: false },
        },
      },
    ],
  },
});
