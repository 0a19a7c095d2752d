/**
 * The kinds of stack this tool installs: the `kind:` a profile may name. Each has a module in
 * src/stacks/ (registry.ts fails at load if the two disagree); the list lives here so that bundles
 * are checked where they are made, below the stacks that install them.
 */
export const STACK_KINDS = ['rekor-v2', 'rekor-v1', 'witness'] as const;
