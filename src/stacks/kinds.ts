/** The kinds of stack this tool installs (one module each in this folder; registry.ts holds them). */
export { STACK_KINDS } from '../bundle/stack-kinds.js';
