/** The name the engineer's module carries in positions and stacks. */
export const USER_FILENAME = 'transform.ts';
/** The name the sandbox compiles the generated script under; frames of other files are ours. */
export const SANDBOX_FILENAME = 'transform.js';
