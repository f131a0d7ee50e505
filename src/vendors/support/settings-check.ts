import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** One problem with one field, e.g. `{ field: 'settings.port', problem: 'must be at most 65535' }`. */
export interface FieldProblem {
  field: string;
  problem: string;
}

/** A value that passed its schema (with its defaults filled in), or the problems that stopped it. */
export type Checked<T> = { ok: true; value: T } | { ok: false; problems: FieldProblem[] };

/**
 * Fills in defaults and checks `value` against `schema`. Returns the value with its defaults, or
 * the first problem of each bad field, named `${prefix}.${field}`.
 *
 * @example
 * checkAgainst(Type.Object({ port: Type.Integer({ maximum: 65535 }) }), { port: 70000 }, 'settings')
 * // { ok: false, problems: [{ field: 'settings.port', problem: '…' }] }
 */
export function checkAgainst<T extends TSchema>(schema: T, value: unknown, prefix: string): Checked<Static<T>> {
  const withDefaults: unknown = Value.Default(schema, Value.Clone(value));
  if (Value.Check(schema, withDefaults)) return { ok: true, value: withDefaults };
  const problems = new Map<string, string>();
  for (const error of Value.Errors(schema, withDefaults)) {
    const field = [prefix, ...error.path.split('/').filter(Boolean)].join('.');
    if (!problems.has(field)) problems.set(field, describe(error.schema, error.message));
  }
  return { ok: false, problems: [...problems].map(([field, problem]) => ({ field, problem })) };
}

/** The problems as one line a person can act on: `settings.port must be …; secrets.apiKey is …`. */
export const listProblems = (problems: readonly FieldProblem[]): string =>
  problems.map((p) => `${p.field} ${p.problem}`).join('; ');

// TypeBox says "Expected union value" for a wrong enum value; name the allowed ones instead.
function describe(schema: TSchema, message: string): string {
  const options = (schema.anyOf as TSchema[] | undefined)?.map((option) => option.const as unknown);
  if (options?.every((option) => typeof option === 'string')) return `must be one of: ${options.join(', ')}`;
  return message.charAt(0).toLowerCase() + message.slice(1);
}
