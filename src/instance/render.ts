/**
 * Renders `{{ name }}` / `{{ images.rekor }}` placeholders; an unknown name is an error naming it.
 * `{{# name }} ... {{/ name }}` keeps its lines when `name` has a value (a non-empty string, a
 * number, or an object) and drops them when it is empty or absent: an optional service.
 */
import { AirgapError } from '../errors.js';

export type TemplateVars = { [key: string]: string | number | TemplateVars };

function lookup(vars: TemplateVars, name: string): string | number | TemplateVars | undefined {
  let v: string | number | TemplateVars | undefined = vars;
  for (const part of name.split('.')) v = typeof v === 'object' && v !== null ? v[part] : undefined;
  return v;
}

export function renderTemplate(text: string, vars: TemplateVars, templateName: string): string {
  const sections = text.replace(
    /^[ \t]*\{\{#\s*([A-Za-z_][\w.]*)\s*\}\}[ \t]*\n([\s\S]*?)^[ \t]*\{\{\/\s*\1\s*\}\}[ \t]*\n/gm,
    (_m, name: string, body: string) => {
      const v = lookup(vars, name);
      return v === undefined || v === '' ? '' : body;
    },
  );
  if (/\{\{[#/]/.test(sections))
    throw new AirgapError(
      'INSTALL_TEMPLATE_VARIABLE',
      `template ${templateName} has a {{# }} section without its {{/ }} end (each on a line of its own)`,
    );
  return sections.replace(/\{\{\s*([A-Za-z_][\w.]*)\s*\}\}/g, (_m, name: string) => {
    const v = lookup(vars, name);
    if (typeof v !== 'string' && typeof v !== 'number') {
      throw new AirgapError(
        'INSTALL_TEMPLATE_VARIABLE',
        `template ${templateName} uses {{ ${name} }}, which has no value`,
      );
    }
    return String(v);
  });
}
