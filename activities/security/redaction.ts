// Logs never carry restricted values. Three layers, because each alone has a gap:
// 1. pino redact paths built from the policy's restricted fields (the fast, standard mechanism; fixed depth);
// 2. a deep scrub of every logged object, child binding and error by field name at any depth, names compared
//    loosely (accountNumber ~ account_number), for what sits deeper than the paths reach;
// 3. a pattern scrub of free text (messages, error messages and stacks, string values) for IBANs (mod-97 valid)
//    and card numbers (Luhn valid), for values interpolated into a message instead of logged as a field.
// Other account-number formats inside free text cannot be recognised: log them as fields, never in messages.
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { isCardNumber, replaceAccountNumbers } from '../../domain/security/masking';
import {
  fieldNamesAtLeast,
  normalizeFieldName,
  type ClassificationLevel,
  type SecurityPolicy,
} from '../../domain/security/policy';

export const REDACTED = '[REDACTED]';

function camel(name: string): string {
  return name.replace(/[_-]+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}

function snake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase();
}

/** The field names to redact: those of field rules at `minimum` or stricter, with their camel and snake forms. */
export function redactedFieldNames(policy: SecurityPolicy, minimum: ClassificationLevel = 'restricted'): string[] {
  const names = new Set<string>();
  for (const name of fieldNamesAtLeast(policy, minimum)) for (const v of [name, camel(name), snake(name)]) names.add(v);
  return [...names].sort();
}

/** pino redact paths: each name at the top level and under up to `depth` levels of wildcards. */
export function redactPaths(
  policy: SecurityPolicy,
  opts: { minimum?: ClassificationLevel; depth?: number } = {},
): string[] {
  const depth = opts.depth ?? 4;
  const paths: string[] = [];
  for (const name of redactedFieldNames(policy, opts.minimum)) {
    const key = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : `["${name}"]`;
    for (let d = 0; d <= depth; d++) {
      const prefix = '*.'.repeat(d);
      paths.push(key.startsWith('[') ? `${prefix.slice(0, -1)}${key}` : `${prefix}${key}`);
    }
  }
  return paths;
}

/** Replaces IBANs and card numbers in free text. */
export function scrubText(text: string): string {
  return replaceAccountNumbers(text, () => REDACTED);
}

const MAX_DEPTH = 50;

/** A copy of `value` with every property named in `names` (normalised) replaced and every string pattern-scrubbed. */
export function scrubValue(value: unknown, names: ReadonlySet<string>, depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (typeof value === 'number' && Number.isInteger(value) && isCardNumber(String(value))) return REDACTED;
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return REDACTED;
  if (value instanceof Error) return scrubError(value, names, depth);
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, names, depth + 1));
  if (value instanceof Date || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>))
    out[k] = names.has(normalizeFieldName(k)) ? REDACTED : scrubValue(v, names, depth + 1);
  return out;
}

/** An Error copy (still an Error, so pino serialises it as one) with scrubbed message, stack, cause and fields. */
function scrubError(err: Error, names: ReadonlySet<string>, depth: number): Error {
  const copy = new Error(scrubText(err.message));
  copy.name = err.name;
  copy.stack = err.stack === undefined ? undefined : scrubText(err.stack);
  if (err.cause !== undefined) copy.cause = scrubValue(err.cause, names, depth + 1);
  for (const [k, v] of Object.entries(err))
    (copy as unknown as Record<string, unknown>)[k] = names.has(normalizeFieldName(k))
      ? REDACTED
      : scrubValue(v, names, depth + 1);
  return copy;
}

export interface CreateLoggerOptions {
  /** Where lines go (default stdout). */
  destination?: DestinationStream;
  level?: LoggerOptions['level'];
  name?: string;
  /** Redact fields at this classification or stricter (default: restricted). */
  minimum?: ClassificationLevel;
}

/** A pino logger that redacts what the policy classifies restricted (or stricter than `minimum`). */
export function createLogger(policy: SecurityPolicy, opts: CreateLoggerOptions = {}): Logger {
  const minimum = opts.minimum ?? 'restricted';
  const names = new Set(redactedFieldNames(policy, minimum).map(normalizeFieldName));
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    name: opts.name,
    redact: { paths: redactPaths(policy, { minimum }), censor: REDACTED },
    formatters: {
      log: (obj) => scrubValue(obj, names) as Record<string, unknown>,
      bindings: (bindings) => scrubValue(bindings, names) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((a) => scrubValue(a, names)) as Parameters<typeof method>;
        method.apply(this, scrubbed);
      },
    },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
