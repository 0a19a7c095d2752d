import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../../../src/instance/render.js';

describe('template sections', () => {
  const t = 'a: {{ x }}\n  {{# tsa }}\ntsa: {{ tsa.url }}\n  {{/ tsa }}\nb\n';
  it('keep their lines when the variable has a value, and drop them when it is empty or absent', () => {
    expect(renderTemplate(t, { x: 1, tsa: { url: 'u' } }, 't')).toBe('a: 1\ntsa: u\nb\n');
    expect(renderTemplate(t, { x: 1, tsa: '' }, 't')).toBe('a: 1\nb\n');
    expect(renderTemplate(t, { x: 1 }, 't')).toBe('a: 1\nb\n');
  });
  it('an unclosed section is an error naming the template', () => {
    expect(() => renderTemplate('{{# tsa }}\nx\n', { tsa: 'on' }, 'compose.yaml')).toThrow(
      /compose.yaml has a \{\{# \}\} section without its/,
    );
  });
});
