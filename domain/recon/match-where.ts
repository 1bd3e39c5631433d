// A rule's field conditions (`where_a`, `where_b`): which records of each side the rule may take at all. A bank
// statement line carries the bank's transaction code (camt.053 BkTxCd, MT940 :61: type, BAI2 type code): with it a
// definition keeps cash deposits out of its one-to-one rules and offers only deposits to a sum_window rule, so a
// payment is never searched as a sum and a deposit slip's total is never paired with one receipt by chance.
//
// `{ field: { in: [...] } }` takes records whose value (after transformations, compared as written) is one of the
// list; `{ field: { not_in: [...] } }` those whose value is none of them. A missing or empty value is in no list:
// such a record fails `in` and passes `not_in`. Several fields must all hold.
import type { MatchRule, Side, WhereCondition } from './definition';
import type { MatchState } from './match-state';
import type { NormalisedRecord } from './normalise';

function holds(where: Readonly<Record<string, WhereCondition>>, fields: Readonly<Record<string, string>>): boolean {
  for (const [field, c] of Object.entries(where)) {
    const v = fields[field]?.trim() ?? '';
    if ('in' in c) {
      if (v === '' || !c.in.includes(v)) return false;
    } else if (v !== '' && c.not_in.includes(v)) return false;
  }
  return true;
}

function compile(where: Readonly<Record<string, WhereCondition>>, records: readonly NormalisedRecord[]): Uint8Array {
  const out = new Uint8Array(records.length);
  for (let i = 0; i < records.length; i++) out[i] = holds(where, records[i].fields) ? 1 : 0;
  return out;
}

/**
 * Which records of `side` rule r may take: 1 per record it may, 0 where its conditions fail; undefined when the rule
 * has no condition on that side (every record). Compiled once per rule and side, on first use.
 */
export function ruleMask(s: MatchState, r: number, side: Side): Uint8Array | undefined {
  const rule: MatchRule = s.definition.rules[r];
  const where = side === 'a' ? rule.where_a : rule.where_b;
  if (where === undefined) return undefined;
  const id = 2 * r + (side === 'a' ? 0 : 1);
  let mask = s.masks.get(id);
  if (mask === undefined) {
    mask = compile(where, side === 'a' ? s.a : s.b);
    s.masks.set(id, mask);
  }
  return mask;
}
