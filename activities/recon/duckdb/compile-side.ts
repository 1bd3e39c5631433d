// One side of a reconciliation definition compiled to DuckDB SQL over the VARCHAR columns read_csv produced: the
// mappings and the simple transformations (trim, case, leading zeros, default, decimal formats, round, scale,
// negate, debit/credit, dates, lookups) become layered projections over exact DECIMAL(18,6) - never DOUBLE - and
// the checks of domain/recon/normalise.ts become a `problem` column (field U+001F text), NULL on a good record, so
// bad input is named with its line and field instead of being cast to NULL. What cannot compile (regex_extract,
// id_field, text work on an amount) throws NotCompilable and the caller falls back to the TypeScript data plane.
//
// Only what matching needs comes out of SQL: key, currency, amount, date and the problems. Records left for the
// TypeScript rules are normalised again by domain/recon from their raw values, so their fields are the engine's own.
import {
  compileDateFormat,
  type ReconciliationDefinition,
  type Side,
  type Transformation,
} from '../../../domain/recon';
import {
  DEC,
  ident,
  lit,
  notDecimal,
  NotCompilable,
  parse,
  plain,
  PROBLEM_SEP,
  quoted,
  range,
  roundSql,
  SQL_SCALE,
  trimJs,
  negateText,
} from './sql-text';

export { DEC, ident, lit, NotCompilable, OUT_OF_RANGE, perCurrency, PROBLEM_SEP, roundSql } from './sql-text';

/**
 * A field's value: text (VARCHAR, NULL when absent) or an amount already read (DECIMAL, NULL when not present).
 * Text a decimal_format produced carries `read`: where `present` holds it is trimmed and a plain decimal (or a
 * problem was already reported for the record), so reading it as an amount needs no second trim and check. Text a
 * date transformation produced carries `date`: its DATE where `present` holds (NULL where it matched no format, for
 * which a problem was reported).
 */
type Val =
  | { kind: 'text'; col: string; read?: { present: string }; date?: { present: string; day: string } }
  | { kind: 'dec'; col: string; text: string };

export interface CompiledSide {
  /** SELECT over the raw table (with its `rid` column) giving rid, key, cur, amt (DECIMAL), day (VARCHAR), p_early, p_late. */
  sql: string;
}

class Layers {
  private readonly done: string[][] = [];
  private cur: string[] = [];
  private n = 0;
  add(expr: string): string {
    const name = `__ff${this.n++}`;
    this.cur.push(`${expr} AS ${name}`);
    return name;
  }
  next(): void {
    if (this.cur.length) this.done.push(this.cur);
    this.cur = [];
  }
  sql(from: string, final: string[]): string {
    this.next();
    let q = from;
    for (const layer of this.done) q = `(SELECT *, ${layer.join(', ')} FROM ${q})`;
    return `SELECT ${final.join(', ')} FROM ${q}`;
  }
}

export function compileSide(
  definition: ReconciliationDefinition,
  side: Side,
  columns: readonly string[],
  from: string,
): CompiledSide {
  const def = definition[side];
  if (def.id_field !== undefined) throw new NotCompilable('id_field');
  for (const c of columns)
    if (c.startsWith('__ff') || c === 'rid') throw new NotCompilable(`column name ${JSON.stringify(c)}`);
  const L = new Layers();
  // Each value is trimmed (a regular expression per record) and tested for presence once, as a column, however
  // many steps ask: the ERP side of the bench asked up to four times per value (profiled: 13 regexp_matches).
  const trims = new Map<string, string>();
  const presents = new Map<string, string>();
  const trimmed = (x: string): string => {
    let col = trims.get(x);
    if (col === undefined) {
      trims.set(x, (col = L.add(trimJs(x))));
      L.next();
    }
    return col;
  };
  const present = (x: string): string => {
    let col = presents.get(x);
    if (col === undefined) {
      const t = trimmed(x);
      presents.set(x, (col = L.add(`(${x} IS NOT NULL AND ${t} <> '')`)));
      L.next();
    }
    return col;
  };
  const fields = new Map<string, Val>();
  const rename = new Map(def.mappings.map((m) => [m.from, m.to]));
  for (const c of columns) {
    const name = rename.get(c) ?? c;
    const before = fields.get(name);
    // Two columns under one name: the later one's value where it has one (normalise.ts skips empty cells).
    fields.set(name, { kind: 'text', col: before === undefined ? ident(c) : `COALESCE(${ident(c)}, ${before.col})` });
  }
  const early: string[] = [];
  const late: string[] = [];
  const problem = (field: string, cond: string, text: string) =>
    `CASE WHEN ${cond} THEN ${lit(field + PROBLEM_SEP)} || ${text} END`;
  const textOf = (field: string, op: string): string | undefined => {
    const v = fields.get(field);
    if (v === undefined) return undefined;
    if (v.kind === 'dec') throw new NotCompilable(`${op} on ${field} after it was read as an amount`);
    return v.col;
  };
  /** An amount field as DECIMAL with a problem for present text that is not a decimal. */
  const amountOf = (field: string): { dec: string; text: string } | undefined => {
    const v = fields.get(field);
    if (v === undefined) return undefined;
    if (v.kind === 'dec') return { dec: v.col, text: v.text };
    // present and plain once per value, as columns: each is a regular expression per record.
    const t = v.read ? v.col : trimmed(v.col);
    const p = v.read ? v.read.present : present(v.col);
    const ok = v.read ? 'true' : L.add(plain(t));
    L.next();
    const dec = L.add(`CASE WHEN ${p} AND ${ok} THEN ${parse(t)} END`);
    L.next();
    early.push(L.add(problem(field, `${p} AND NOT ${ok}`, notDecimal(v.col))));
    early.push(L.add(problem(field, `${p} AND ${ok} AND ${dec} IS NULL`, range(t))));
    L.next();
    return { dec, text: v.col };
  };

  for (const t of def.transformations) step(t);

  function step(t: Transformation): void {
    switch (t.op) {
      case 'trim':
      case 'upper':
      case 'lower': {
        const v = textOf(t.field, t.op);
        if (v === undefined) return;
        if (t.op === 'trim') {
          fields.set(t.field, { kind: 'text', col: trimmed(v) });
          return;
        }
        fields.set(t.field, { kind: 'text', col: L.add(`${t.op}(${v})`) });
        return L.next();
      }
      case 'strip_leading_zeros': {
        const v = textOf(t.field, t.op);
        if (v === undefined) return;
        fields.set(t.field, { kind: 'text', col: L.add(`regexp_replace(${v}, '^0+(.)', '\\1')`) });
        return L.next();
      }
      case 'default': {
        const v = textOf(t.field, t.op);
        const col =
          v === undefined ? L.add(lit(t.value)) : L.add(`CASE WHEN ${present(v)} THEN ${v} ELSE ${lit(t.value)} END`);
        fields.set(t.field, { kind: 'text', col });
        return L.next();
      }
      case 'decimal_format': {
        const v = textOf(t.field, t.op);
        if (v === undefined) return;
        const tr = trimmed(v);
        const pv = present(v);
        const paren = t.parentheses_negative ? `(starts_with(${tr}, '(') AND ends_with(${tr}, ')'))` : 'false';
        const trail = t.trailing_minus ? `(NOT ${paren} AND ends_with(${tr}, '-'))` : 'false';
        const neg = L.add(`(${paren} OR ${trail})`);
        const u = L.add(
          `CASE WHEN ${paren} THEN ${trimJs(`substring(${tr}, 2, length(${tr}) - 2)`)} WHEN ${trail} THEN ${trimJs(`substring(${tr}, 1, length(${tr}) - 1)`)} ELSE ${tr} END`,
        );
        L.next();
        let w = t.group_separator === '' ? u : `replace(${u}, ${lit(t.group_separator)}, '')`;
        const dot = t.decimal_separator === ',' ? `contains(${w}, '.')` : 'false';
        // Every comma where the TypeScript step replaces the first: a value with two is refused either way.
        if (t.decimal_separator === ',') w = `replace(${w}, ',', '.')`;
        const w2 = L.add(w);
        const bad = L.add(dot);
        L.next();
        early.push(
          L.add(
            problem(t.field, `${pv} AND ${bad}`, `${quoted(v)} || ' holds ''.'' but the decimal separator is '','''`),
          ),
        );
        early.push(L.add(problem(t.field, `${pv} AND NOT ${bad} AND NOT ${plain(w2)}`, notDecimal(v))));
        const out = L.add(`CASE WHEN NOT ${pv} THEN ${v} WHEN ${neg} THEN ${negateText(w2)} ELSE ${w2} END`);
        fields.set(t.field, { kind: 'text', col: out, read: { present: pv } });
        return L.next();
      }
      case 'round': {
        if (t.places > SQL_SCALE) throw new NotCompilable(`rounding to ${t.places} places`);
        const a = amountOf(t.field);
        if (a === undefined) return;
        const col = L.add(roundSql(a.dec, t.places, t.mode));
        L.next();
        // Rounded up past 12 digits before the point: NULL from TRY_CAST, reported, never kept silently.
        early.push(L.add(problem(t.field, `${a.dec} IS NOT NULL AND ${col} IS NULL`, range(quoted(a.text)))));
        fields.set(t.field, { kind: 'dec', col, text: a.text });
        return L.next();
      }
      case 'scale': {
        const a = amountOf(t.field);
        if (a === undefined) return;
        const [, fracPart = ''] = t.factor.trim().replace(/^[+-]/, '').split('.');
        const factor = `CAST(${lit(t.factor.trim())} AS DECIMAL(18,${Math.min(fracPart.length, 18)}))`;
        const prod = L.add(`(CAST(${a.dec} AS DECIMAL(38,${SQL_SCALE})) * ${factor})`);
        L.next();
        early.push(
          L.add(
            problem(
              t.field,
              `${a.dec} IS NOT NULL AND (TRY_CAST(${prod} AS ${DEC}) IS NULL OR ${prod} <> TRY_CAST(${prod} AS ${DEC}))`,
              range(quoted(a.text)),
            ),
          ),
        );
        fields.set(t.field, { kind: 'dec', col: L.add(`TRY_CAST(${prod} AS ${DEC})`), text: a.text });
        return L.next();
      }
      case 'negate': {
        const a = amountOf(t.field);
        if (a === undefined) return;
        fields.set(t.field, { kind: 'dec', col: L.add(`(-${a.dec})`), text: a.text });
        return L.next();
      }
      case 'debit_credit': {
        const d = amountOf(t.debit);
        const c = amountOf(t.credit);
        const dd = d?.dec ?? 'NULL';
        const cc = c?.dec ?? 'NULL';
        const hasD = d === undefined ? 'false' : present(d.text);
        const hasC = c === undefined ? 'false' : present(c.text);
        early.push(
          L.add(problem(t.debit, `NOT ${hasD} AND NOT ${hasC}`, lit(`both ${t.debit} and ${t.credit} are empty`))),
        );
        const value = `(COALESCE(${dd}, 0) - COALESCE(${cc}, 0))`;
        const signed = t.sign === 'debit_positive' ? value : `(-${value})`;
        const col = L.add(`CAST(CASE WHEN ${hasD} OR ${hasC} THEN ${signed} END AS ${DEC})`);
        fields.set(t.into, { kind: 'dec', col, text: `CAST(${col} AS VARCHAR)` });
        return L.next();
      }
      case 'date': {
        const v = textOf(t.field, t.op);
        if (v === undefined) return;
        const tr = trimmed(v);
        const pv = present(v);
        const isos = t.formats.map((format) => {
          const f = compileDateFormat(format);
          const names = f.slots.map((s, i) => `${s}${i}`);
          const parts = L.add(`regexp_extract(${tr}, ${lit(f.re.source)}, [${names.map(lit).join(', ')}])`);
          return { f, names, parts };
        });
        L.next();
        // The ISO text is built once per format and cast to DATE once (profiled: building it twice with lpad and
        // casting it twice was the costliest layer of the ERP side); a year is always 4 digits and a dd or MM 2, so
        // only a d or M of one digit is padded.
        const texts = isos.map(({ f, names, parts }) => {
          const widths = [...f.re.source.matchAll(/\(\\d\{([0-9,]+)\}\)/g)].map((m) => m[1]);
          const g = (slot: string) => {
            const i = f.slots.indexOf(slot as never);
            const x = `${parts}.${ident(names[i])}`;
            return widths[i] === '1,2' ? `lpad(${x}, 2, '0')` : x;
          };
          return L.add(`${g('y')} || '-' || ${g('M')} || '-' || ${g('d')}`);
        });
        L.next();
        const days = isos.map(({ f, names, parts }, k) => {
          const checks = [`${parts}.${ident(names[f.slots.indexOf('y')])} <> ''`];
          f.slots.forEach((s, i) => {
            if (s === 'H') checks.push(`CAST(${parts}.${ident(names[i])} AS INTEGER) <= 23`);
            if (s === 'm' || s === 's') checks.push(`CAST(${parts}.${ident(names[i])} AS INTEGER) <= 59`);
          });
          return L.add(`CASE WHEN ${checks.join(' AND ')} THEN TRY_CAST(${texts[k]} AS DATE) END`);
        });
        L.next();
        const day = L.add(days.length === 1 ? days[0] : `COALESCE(${days.join(', ')})`);
        const iso = L.add(`CASE ${days.map((d, k) => `WHEN ${d} IS NOT NULL THEN ${texts[k]}`).join(' ')} END`);
        L.next();
        early.push(
          L.add(
            problem(
              t.field,
              `${pv} AND ${iso} IS NULL`,
              `${quoted(v)} || ${lit(` matches none of the formats ${t.formats.join(', ')}`)}`,
            ),
          ),
        );
        fields.set(t.field, {
          kind: 'text',
          col: L.add(`CASE WHEN ${pv} THEN ${iso} ELSE ${v} END`),
          date: { present: pv, day },
        });
        return L.next();
      }
      case 'lookup': {
        const v = textOf(t.field, t.op);
        if (v === undefined) return;
        const entries = Object.entries(t.map);
        if (entries.length > 1000) throw new NotCompilable(`a lookup of ${entries.length} entries`);
        const mapped =
          entries.length === 0
            ? 'NULL'
            : `CASE ${v} ${entries.map(([k, x]) => `WHEN ${lit(k)} THEN ${lit(x)}`).join(' ')} END`;
        const known = entries.length === 0 ? 'false' : `${v} IN (${entries.map(([k]) => lit(k)).join(', ')})`;
        if (t.unmapped === 'error')
          early.push(
            L.add(problem(t.field, `${v} IS NOT NULL AND NOT ${known}`, `${quoted(v)} || ' is not in the lookup map'`)),
          );
        const col = L.add(
          `CASE WHEN ${v} IS NULL THEN ${fields.get(t.into ?? t.field)?.col ?? 'NULL'} WHEN ${known} THEN ${mapped} ELSE ${t.unmapped === 'keep' ? v : 'NULL'} END`,
        );
        fields.set(t.into ?? t.field, { kind: 'text', col });
        return L.next();
      }
      case 'regex_extract':
        throw new NotCompilable('regex_extract (JavaScript regular expressions)');
    }
  }

  // normalise.ts's checks, in its order: key, currency, amount (early); other amounts and the date (late).
  const keyParts = def.key_fields.map((k) => {
    const v = textOf(k, 'a key') ?? 'NULL';
    early.push(L.add(problem(k, `${v} IS NULL OR ${v} = ''`, lit('key field is missing or empty'))));
    early.push(L.add(problem(k, `contains(${v}, chr(31))`, lit('key field holds the control character U+001F'))));
    return v;
  });
  const key = L.add(keyParts.length === 1 ? keyParts[0] : keyParts.join(' || chr(31) || '));
  const c = def.currency_field === undefined ? undefined : textOf(def.currency_field, 'a currency');
  // The fixed currency is a literal: trimmed here, as JavaScript trims it.
  const fixedTrimmed = `upper(${lit((def.currency ?? '').trim())})`;
  const cur = L.add(
    c === undefined ? fixedTrimmed : `CASE WHEN ${present(c)} THEN upper(${trimmed(c)}) ELSE ${fixedTrimmed} END`,
  );
  L.next();
  early.push(
    L.add(
      problem(
        def.currency_field ?? 'currency',
        `NOT regexp_full_match(${cur}, '[A-Z]{3}')`,
        `${quoted(c === undefined ? "''" : `COALESCE(${c}, '')`)} || ' is not an ISO 4217 currency code'`,
      ),
    ),
  );
  const [amountField, ...otherValues] = def.value_fields;
  const amountVal = fields.get(amountField);
  if (amountVal === undefined) early.push(L.add(problem(amountField, 'true', lit('amount is missing'))));
  const amount = amountVal === undefined ? undefined : amountOf(amountField);
  let amt = 'NULL';
  if (amount !== undefined) {
    early.push(
      L.add(
        problem(
          amountField,
          `${amount.dec} IS NULL`,
          amountVal?.kind === 'text'
            ? `CASE WHEN ${amount.text} IS NULL THEN 'amount is missing' ELSE ${notDecimal(amount.text)} END`
            : `CASE WHEN ${amount.text} IS NULL THEN 'amount is missing' ELSE ${notDecimal(amount.text)} END`,
        ),
      ),
    );
    amt = amount.dec;
  }
  for (const name of otherValues) {
    const v = fields.get(name);
    if (v === undefined) late.push(L.add(problem(name, 'true', lit('not a decimal amount: ""'))));
    else if (v.kind === 'dec')
      late.push(L.add(problem(name, `${v.col} IS NULL`, notDecimal(`COALESCE(${v.text}, '')`))));
    else {
      const t = `${trimJs(v.col)}`;
      late.push(L.add(problem(name, `${v.col} IS NULL OR NOT ${plain(t)}`, notDecimal(`COALESCE(${v.col}, '')`))));
    }
  }
  let day = 'NULL';
  if (def.date_field !== undefined) {
    const d = textOf(def.date_field, 'a date');
    if (d === undefined) late.push(L.add(problem(def.date_field, 'true', lit('date is missing'))));
    else {
      const dv = fields.get(def.date_field);
      const known = dv?.kind === 'text' ? dv.date : undefined;
      // A date transformation's DATE as it is (where its value is present and matched: the same text cast the
      // same way); any other text is checked to be ISO and cast here.
      const pd = known ? known.present : present(d);
      const iso = known
        ? known.day
        : L.add(`CASE WHEN regexp_full_match(${d}, '[0-9]{4}-[0-9]{2}-[0-9]{2}') THEN TRY_CAST(${d} AS DATE) END`);
      L.next();
      late.push(L.add(problem(def.date_field, `NOT ${pd}`, lit('date is missing'))));
      late.push(
        L.add(
          problem(
            def.date_field,
            `${pd} AND ${iso} IS NULL`,
            `${quoted(d)} || ' is not an ISO date; add a date transformation'`,
          ),
        ),
      );
      day = iso;
    }
  }
  const coalesce = (xs: string[]) =>
    xs.length === 0 ? 'NULL' : xs.length === 1 ? xs[0] : `COALESCE(${xs.join(', ')})`;
  return {
    sql: L.sql(from, [
      'rid',
      `${key} AS key`,
      `${cur} AS cur`,
      `${amt} AS amt`,
      `${day} AS day`,
      `${coalesce(early)} AS p_early`,
      `${coalesce(late)} AS p_late`,
    ]),
  };
}
