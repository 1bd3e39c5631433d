// The one canonical serialisation behind every hash and signature of the compliance trail (ledger entries,
// checkpoints, manifests): JSON with object keys sorted by UTF-16 code units, no whitespace, numbers as
// JavaScript prints them. Two programs that agree on the value then agree on the bytes, whatever order the keys
// were built in or a database (jsonb) returned them in. Anything JSON cannot carry exactly is refused rather than
// quietly converted, because a value that changes on the way back from storage would break its own hash.

export class CanonicalJsonError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(`${message} at ${path || '$'}`);
    this.name = 'CanonicalJsonError';
  }
}

function write(value: unknown, path: string, out: string[]): void {
  if (value === null) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`non-finite number ${value}`, path);
      // Above 2^53 a number no longer round-trips through every JSON reader; money and ids travel as strings.
      if (Number.isInteger(value) && !Number.isSafeInteger(value))
        throw new CanonicalJsonError(`integer ${value} is beyond 2^53: write it as a string`, path);
      out.push(Object.is(value, -0) ? '0' : JSON.stringify(value));
      return;
    case 'object':
      break;
    default:
      throw new CanonicalJsonError(`a ${typeof value} cannot be serialised`, path);
  }
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i) out.push(',');
      if (value[i] === undefined) throw new CanonicalJsonError('undefined array element', `${path}[${i}]`);
      write(value[i], `${path}[${i}]`, out);
    }
    out.push(']');
    return;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null)
    throw new CanonicalJsonError(
      `a ${(value as object).constructor?.name ?? 'class'} instance is not plain JSON`,
      path,
    );
  const keys = Object.keys(value as Record<string, unknown>)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  out.push('{');
  keys.forEach((k, i) => {
    if (i) out.push(',');
    out.push(JSON.stringify(k), ':');
    write((value as Record<string, unknown>)[k], `${path}.${k}`, out);
  });
  out.push('}');
}

/** Canonical JSON text of a plain JSON value (see the file comment for the rules). */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, '', out);
  return out.join('');
}

/** The same value with its object keys sorted, for pretty-printed files that must still be byte-stable. */
export function sortKeysDeep<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => sortKeysDeep(v)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value as Record<string, unknown>).sort()) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = sortKeysDeep(v);
  }
  return out as T;
}
