/** Renders `{{ name }}` / `{{ images.rekor }}` placeholders; an unknown name is an error naming it. */
import { AirgapError } from '../errors.js';

export type TemplateVars = { [key: string]: string | number | TemplateVars };

export function renderTemplate(text: string, vars: TemplateVars, templateName: string): string {
  return text.replace(/\{\{\s*([A-Za-z_][\w.]*)\s*\}\}/g, (_m, name: string) => {
    let v: string | number | TemplateVars | undefined = vars;
    for (const part of name.split('.')) v = typeof v === 'object' && v !== null ? v[part] : undefined;
    if (typeof v !== 'string' && typeof v !== 'number') {
      throw new AirgapError('INSTALL_TEMPLATE_VARIABLE', `template ${templateName} uses {{ ${name} }}, which has no value`);
    }
    return String(v);
  });
}
