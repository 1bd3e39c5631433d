import { parseDefinition } from '../../domain/recon/definition';
import { normaliseRecords } from '../../domain/recon/normalise';
import { reconcile, type ReconResult } from '../../domain/recon/reconcile';
import { bankDefinition, generateBankScenario, type BankScenario } from './recon-bank-generator';

function reconcileScenario(scenario: BankScenario): { result: ReconResult; memo: Map<string, string> } {
  const def = parseDefinition(bankDefinition);
  const a = normaliseRecords(scenario.bank, def, 'a');
  const b = normaliseRecords(scenario.gl, def, 'b');
  const memo = new Map<string, string>();
  for (const r of [...a, ...b]) memo.set(r.id, r.fields.memo);
  return { result: reconcile(a, b, def), memo };
}

/** The planted cases of a kind, each as the sorted ids of its records. */
function plantedCases(memo: Map<string, string>, kind: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [id, m] of memo) {
    if (!m.startsWith(`${kind}:`)) continue;
    const ids = out.get(m) ?? [];
    ids.push(id);
    out.set(m, ids);
  }
  for (const ids of out.values()) ids.sort();
  return out;
}

describe('a generated bank statement against the GL cash account, sharing no key', () => {
  const scenario = generateBankScenario(600);
  const { result, memo } = reconcileScenario(scenario);
  const memos = (ids: string[]) => new Set(ids.map((id) => memo.get(id)));

  it('makes no false match: every match holds the records of one planted case', () => {
    expect(result.matches.length).toBeGreaterThan(600);
    const wrong = result.matches.filter((m) => memos([...m.a, ...m.b]).size !== 1);
    expect(wrong).toEqual([]);
  });

  it('finds every payment, referenced payment and deposit slip, each by the rule meant for it', () => {
    const byCase = new Map(result.matches.map((m) => [memo.get(m.a[0]) as string, m]));
    const expectations: [string, string[]][] = [
      ['payment', ['same-day', 'window']],
      ['referenced', ['reference']],
      ['deposit', ['deposit-slip']],
    ];
    for (const [kind, rules] of expectations) {
      const cases = plantedCases(memo, kind);
      expect(cases.size).toBe(scenario.planted[kind as 'payment']);
      for (const [c, ids] of cases) {
        const m = byCase.get(c);
        expect({ c, ids: m === undefined ? [] : [...m.a, ...m.b].sort() }).toEqual({ c, ids });
        expect(rules).toContain(m?.rule);
      }
    }
    // Deposits: 2 to 8 receipts each, some of them dated the day before the bank credit.
    const slips = result.matches.filter((m) => m.rule === 'deposit-slip');
    expect(slips.every((m) => m.a.length === 1 && m.b.length >= 2 && m.b.length <= 8)).toBe(true);
  });

  it('reports every short payment as an amount mismatch naming the invoice reference, and invents no other pair', () => {
    const shorts = plantedCases(memo, 'short');
    const mismatches = result.exceptions.filter((e) => e.category === 'amount_mismatch');
    expect(mismatches).toHaveLength(shorts.size);
    for (const e of mismatches) {
      const ids = [...e.a, ...e.b].sort();
      expect(memos(ids).size).toBe(1);
      expect(shorts.get(memo.get(ids[0]) as string)).toEqual(ids);
      expect(e.evidence).toMatchObject({ match_on: 'reference', reference: expect.stringMatching(/^INV-\d{6}$/) });
    }
    // No exception pairs records of two different cases (the invented pairs of old).
    const mixed = result.exceptions.filter((e) => memos([...e.a, ...e.b]).size > 1);
    expect(mixed).toEqual([]);
  });

  it('proposes equal amounts in the window instead of picking, and matches none of them', () => {
    const suggested = result.exceptions.filter((e) => e.category === 'suggested_match');
    expect(suggested.map((e) => [...e.a, ...e.b].map((id) => memo.get(id)?.split(':')[0]))).toEqual([
      ['ambiguous', 'ambiguous', 'ambiguous'],
      ['ambiguous', 'ambiguous', 'ambiguous', 'ambiguous'],
    ]);
    expect(suggested[0].evidence).toMatchObject({ rule: 'window', candidate_count: 2 });
    expect(suggested[1].evidence).toMatchObject({ rule: 'window', candidate_count: 4 });
  });

  it('names the bank reconciling items: fees, outstanding checks and payments, deposits in transit', () => {
    const byCategory = (category: string) =>
      result.exceptions.filter((e) => e.category === category).map((e) => memo.get([...e.a, ...e.b][0])?.split(':')[0]);
    expect(byCategory('bank_fee')).toEqual(Array(scenario.planted.fee).fill('fee'));
    expect(byCategory('outstanding_check')).toEqual(Array(scenario.planted.check).fill('check'));
    expect(byCategory('outstanding_payment')).toEqual(Array(scenario.planted.outgoing).fill('outgoing'));
    expect(byCategory('deposit_in_transit')).toEqual(Array(scenario.planted.in_transit).fill('in_transit'));
    expect(result.summary.exceptions_by_category.missing_in_a).toBe(0);
    expect(result.summary.exceptions_by_category.missing_in_b).toBe(0);
  });

  it('conserves the control totals: every record matched, proposed or in exactly one exception', () => {
    const seen = new Set<string>();
    for (const id of [...result.matches.flatMap((m) => [...m.a, ...m.b])]) {
      expect(seen.has(id)).toBe(false);
      seen.add(id);
    }
    for (const e of result.exceptions.filter((x) => x.open))
      for (const id of [...e.a, ...e.b]) {
        expect(seen.has(id)).toBe(false);
        seen.add(id);
      }
    expect(seen.size).toBe(scenario.bank.length + scenario.gl.length);
    expect(result.summary.a.records_in).toBe(scenario.bank.length);
    expect(result.summary.b.records_in).toBe(scenario.gl.length);
    expect(result.gave_up).toEqual([]);
  });
});
