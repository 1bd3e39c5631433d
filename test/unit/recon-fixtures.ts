// Small builders for the reconciliation unit tests: a definition with one key field, and records written as rows.
import {
  parseDefinition,
  type ReconciliationDefinition,
  type ReconciliationDefinitionInput,
  type Side,
} from '../../domain/recon/definition';
import { normaliseRecords, type NormalisedRecord } from '../../domain/recon/normalise';
import { reconcile, type ReconResult } from '../../domain/recon/reconcile';

type RulesInput = ReconciliationDefinitionInput['rules'];

export function definition(
  rules: RulesInput,
  extra: Partial<Omit<ReconciliationDefinitionInput, 'rules'>> = {},
): ReconciliationDefinition {
  const side = (name: string) => ({
    name,
    source: { connector: 'memory' },
    classification: 'internal',
    key_fields: ['key'],
    value_fields: ['amount'],
    date_field: 'date',
    currency_field: 'ccy',
    currency: 'EUR',
  });
  return parseDefinition({ id: 'test', a: side('A'), b: side('B'), rules, ...extra });
}

/** A row: key, amount, optional ISO date (default 2026-01-15), optional extra fields (ccy, ref...). */
export type Row = [string, string, string?, Record<string, string>?];

export function records(def: ReconciliationDefinition, side: Side, rows: Row[]): NormalisedRecord[] {
  return normaliseRecords(
    rows.map(([key, amount, date, extra], i) => ({
      line: i + 1,
      values: { key, amount, date: date ?? '2026-01-15', ...extra },
    })),
    def,
    side,
  );
}

export function run(rules: RulesInput, a: Row[], b: Row[], extra = {}): ReconResult {
  const def = definition(rules, extra);
  return reconcile(records(def, 'a', a), records(def, 'b', b), def);
}

/** Matches as `rule: a ids <-> b ids`, for assertions that read like the reconciliation. */
export function matchList(result: ReconResult): string[] {
  return result.matches.map((m) => `${m.rule}: ${m.a.join('+')} = ${m.b.join('+')}`);
}

/** Exceptions as `category: a ids / b ids`. */
export function exceptionList(result: ReconResult): string[] {
  return result.exceptions.map((e) => `${e.category}: ${e.a.join('+')} / ${e.b.join('+')}`);
}

/** Random small sources with many collisions (few keys, few amounts, close dates), from a seed. */
export function prngRows(seed: number, n: number): [Row[], Row[]] {
  let t = seed >>> 0;
  const rnd = () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  const row = (): Row => {
    const cents = Math.floor(rnd() * 40) - 8;
    const amount = `${cents < 0 ? '-' : ''}${Math.floor(Math.abs(cents) / 4)}.${String((Math.abs(cents) % 4) * 25).padStart(2, '0')}`;
    return [`K${Math.floor(rnd() * 8)}`, amount, `2026-01-${String(1 + Math.floor(rnd() * 9)).padStart(2, '0')}`];
  };
  return [Array.from({ length: n }, row), Array.from({ length: n }, row)];
}
