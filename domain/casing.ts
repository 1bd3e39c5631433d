// One casing for what people write (issue 19): close plans, reconciliation definitions, approval and security
// policies are snake_case in their files (`owner_role`, `key_fields`, `user_id`). Some fields were first spelt in
// camelCase (`ownerRole`, `userId`) and the parsed objects still use that spelling inside, because workflow inputs
// recorded in histories carry it: changing the internal shape would change what running and recorded workflows see.
// So the new spelling is mapped to the internal one here, at the parse boundary, driven by the zod schema's own keys
// (a field someone adds to a schema in camelCase is accepted as snake_case with no list to update). The old spelling
// is still read and reported, so a file reader can warn once; a field given in both spellings is an error.
//
// Pure and deterministic (workflow code normalises its input with it): no I/O, no clock, key order kept.
import type { z } from 'zod';

/** `ownerRole` -> `owner_role`, `week53Period` -> `week53_period`. */
export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** `owner_role` -> `ownerRole`. */
export function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** A field read in its old (camelCase) spelling: where, as written, and how to write it now. */
export interface DeprecatedSpelling {
  path: string;
  old: string;
  now: string;
}

/** A field given in both spellings: the author must keep one. */
export interface SpellingConflict {
  path: string;
  message: string;
}

export interface CasingResult {
  /** The input with every field in the spelling the schema parses (the internal one). */
  value: unknown;
  deprecated: DeprecatedSpelling[];
  conflicts: SpellingConflict[];
}

type Schema = z.core.$ZodType;
type Def = { type: string } & Record<string, unknown>;

const defOf = (s: Schema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Through wrappers (optional, default, lazy, preprocess, transform, ...) to the schema that says the shape. */
function unwrap(schema: Schema): Schema {
  let s = schema;
  for (let i = 0; i < 32; i++) {
    const def = defOf(s);
    if (def.type === 'lazy') s = (def.getter as () => Schema)();
    else if (def.type === 'pipe') {
      // z.preprocess(f, x) is pipe(transform, x); x.transform(f) is pipe(x, transform): follow the side with a shape.
      const out = def.out as Schema;
      s = defOf(out).type === 'transform' ? (def.in as Schema) : out;
    } else if ('innerType' in def) s = def.innerType as Schema;
    else return s;
  }
  return s;
}

/** The object shapes a schema may take (every object option of a union: their keys do not collide). */
function shapes(schema: Schema): Record<string, Schema>[] {
  const s = unwrap(schema);
  const def = defOf(s);
  if (def.type === 'object') return [def.shape as Record<string, Schema>];
  if (def.type === 'union') return (def.options as Schema[]).flatMap(shapes);
  if (def.type === 'intersection') return [...shapes(def.left as Schema), ...shapes(def.right as Schema)];
  return [];
}

function element(schema: Schema): Schema | undefined {
  const s = unwrap(schema);
  const def = defOf(s);
  if (def.type === 'array') return def.element as Schema;
  if (def.type === 'union') for (const o of def.options as Schema[]) if (element(o)) return element(o);
  return undefined;
}

function recordValue(schema: Schema): Schema | undefined {
  const def = defOf(unwrap(schema));
  return def.type === 'record' ? (def.valueType as Schema) : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function at(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

/**
 * `raw` with snake_case fields renamed to the schema's camelCase ones, where the schema spells a field so; fields
 * the schema does not know are left for it to refuse. Record keys (data: item types, source names) are never
 * renamed. Only objects and arrays are walked; the schema itself is not run.
 */
export function normaliseKeys(raw: unknown, schema: Schema, path = ''): CasingResult {
  const deprecated: DeprecatedSpelling[] = [];
  const conflicts: SpellingConflict[] = [];
  const walk = (value: unknown, s: Schema | undefined, where: string): unknown => {
    if (!s) return value;
    if (Array.isArray(value)) {
      const el = element(s);
      return el ? value.map((v, i) => walk(v, el, at(where, i))) : value;
    }
    if (!isRecord(value)) return value;
    const rv = recordValue(s);
    if (rv) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, rv, at(where, k))]));
    const known: Record<string, Schema> = {};
    for (const shape of shapes(s)) for (const [k, v] of Object.entries(shape)) known[k] ??= v;
    if (Object.keys(known).length === 0) return value;
    const has = (k: string) => Object.prototype.hasOwnProperty.call(known, k);
    // Entries, not assignment: a key "__proto__" in parsed JSON stays a plain field.
    const out: [string, unknown][] = [];
    for (const [key, v] of Object.entries(value)) {
      let target = key;
      if (!has(key) && has(camelCase(key)) && camelCase(key) !== key) {
        target = camelCase(key);
        if (Object.prototype.hasOwnProperty.call(value, target)) {
          conflicts.push({
            path: at(where, key),
            message: `${key} and ${target} are the same field in two spellings: keep ${key} only`,
          });
          continue;
        }
      } else if (has(key) && snakeCase(key) !== key) {
        deprecated.push({ path: at(where, key), old: key, now: snakeCase(key) });
      }
      out.push([target, walk(v, has(target) ? known[target] : undefined, at(where, key))]);
    }
    return Object.fromEntries(out);
  };
  return { value: walk(raw, schema, path), deprecated, conflicts };
}

/**
 * The one warning a file reader gives for a file with old spellings: each field once, with its new spelling and
 * where it was first seen. Undefined when there is nothing to say.
 */
export function deprecationWarning(source: string, deprecated: readonly DeprecatedSpelling[]): string | undefined {
  if (deprecated.length === 0) return undefined;
  const byField = new Map<string, { now: string; first: string; count: number }>();
  for (const d of deprecated) {
    const seen = byField.get(d.old);
    if (seen) seen.count++;
    else byField.set(d.old, { now: d.now, first: d.path, count: 1 });
  }
  const fields = [...byField].map(
    ([old, { now, first, count }]) => `${old} -> ${now} (${first}${count > 1 ? ` and ${count - 1} more` : ''})`,
  );
  return `${source}: deprecated camelCase field names, still read but write them in snake_case: ${fields.join(', ')}`;
}

/**
 * A path into the internal object (`tasks[2].config.reconId`, as parse errors give it) spelt as the file spells
 * it (`tasks[2].config.recon_id`): each field as written there, and a field the file lacks in snake_case, the
 * spelling it should be written in. Data keys (record keys) are as written.
 */
export function pathAsWritten(path: string, written: unknown): string {
  let cur: unknown = written;
  let out = '';
  for (const m of path.matchAll(/\[(\d+)\]|([^.[\]]+)/g)) {
    if (m[1] !== undefined) {
      out += `[${m[1]}]`;
      cur = Array.isArray(cur) ? cur[Number(m[1])] : undefined;
      continue;
    }
    const key = m[2];
    const spelt = isRecord(cur) && Object.prototype.hasOwnProperty.call(cur, key) ? key : snakeCase(key);
    out += out ? `.${spelt}` : spelt;
    cur = isRecord(cur) ? cur[spelt] : undefined;
  }
  return out;
}

/** A parse issue (path and message) as the file spells it: the fields of its path renamed in the message too. */
export function issueAsWritten<T extends { path: string; message: string }>(issue: T, written: unknown): T {
  const path = pathAsWritten(issue.path, written);
  let message = issue.message;
  const internal = issue.path.split(/[.[\]]+/);
  const spelt = path.split(/[.[\]]+/);
  internal.forEach((k, i) => {
    if (spelt[i] && spelt[i] !== k && /^[A-Za-z0-9]+$/.test(k))
      message = message.replace(new RegExp(`\\b${k}\\b`, 'g'), spelt[i]);
  });
  return { ...issue, path, message };
}

export class SpellingConflictError extends Error {
  constructor(
    readonly conflicts: SpellingConflict[],
    source: string,
  ) {
    super(`${source}: ${conflicts.map((c) => `${c.path}: ${c.message}`).join('; ')}`);
    this.name = 'SpellingConflictError';
  }
}
