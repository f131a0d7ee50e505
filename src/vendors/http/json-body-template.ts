import { plainTemplate } from '../support/plain-template.js';

/**
 * Compiles a JSON body template: every string in it is a Handlebars template rendered as plain
 * text; keys, numbers, booleans and nulls stay as they are. Values are placed as JSON strings, so a
 * quote or a newline in a message can never break the body. Throws when a string is not a valid
 * template or the text is not JSON.
 *
 * @example
 * compileJsonBodyTemplate('{"to":"{{to}}","message":{"text":"{{text}}"},"priority":1}')(
 *   { to: '+447700900123', text: 'Say "hi"\n' },
 * ) // { to: '+447700900123', message: { text: 'Say "hi"\n' }, priority: 1 }
 */
export function compileJsonBodyTemplate(template: unknown): (context: object) => unknown {
  const structure: unknown = typeof template === 'string' ? JSON.parse(template) : template;
  return compileValue(structure, 'bodyTemplate');
}

function compileValue(value: unknown, at: string): (context: object) => unknown {
  if (typeof value === 'string') {
    try {
      return plainTemplate(value);
    } catch (error) {
      throw new Error(`${at} is not a valid template: ${(error as Error).message}`);
    }
  }
  if (Array.isArray(value)) {
    const items = value.map((item, index) => compileValue(item, `${at}.${index}`));
    return (context) => items.map((item) => item(context));
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([key, item]) => [key, compileValue(item, `${at}.${key}`)] as const);
    return (context) => Object.fromEntries(entries.map(([key, item]) => [key, item(context)]));
  }
  return () => value;
}
