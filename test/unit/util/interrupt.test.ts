import { describe, expect, it } from 'vitest';
import { onInterrupt, runInterruptUndo } from '../../../src/util/interrupt.js';

describe('undo on interrupt', () => {
  it('runs what is still registered, newest first, once; a finished step is not undone', async () => {
    const ran: string[] = [];
    onInterrupt('remove scratch', async () => {
      ran.push('scratch');
    });
    const done = onInterrupt('finished work', async () => {
      ran.push('finished');
    });
    onInterrupt('resume writes', async () => {
      ran.push('resume');
    });
    done();
    const said: string[] = [];
    await runInterruptUndo((l) => said.push(l));
    await runInterruptUndo((l) => said.push(l));
    expect(ran).toEqual(['resume', 'scratch']);
    expect(said).toEqual(['interrupted: resume writes', 'interrupted: remove scratch']);
  });

  it('a failing or hanging step does not stop the others', async () => {
    const ran: string[] = [];
    onInterrupt('a', async () => {
      ran.push('a');
    });
    onInterrupt('hangs', () => new Promise(() => undefined));
    onInterrupt('fails', async () => {
      throw new Error('boom');
    });
    const said: string[] = [];
    await runInterruptUndo((l) => said.push(l), 50);
    expect(ran).toEqual(['a']);
    expect(said).toContain('  failed: boom');
  });
});
