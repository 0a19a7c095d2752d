/** The preflight checks by name (what --skip-check takes). */
export const CHECK_NAMES = ['engine', 'compose', 'disk', 'ports', 'memory', 'clock'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];
