/** The kinds of stack this tool installs (one module each in this folder; registry.ts holds them). */
export const STACK_KINDS = ['rekor-v2', 'rekor-v1'] as const;
