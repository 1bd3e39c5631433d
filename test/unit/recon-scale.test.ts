import { parseDefinition } from '../../domain/recon/definition';
import { normaliseRecords } from '../../domain/recon/normalise';
import { reconcile } from '../../domain/recon/reconcile';
import { generateScenario, scenarioDefinition } from './recon-generator';

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

describe('reconciling a generated 200k vs 200k partition', () => {
  it('finds every planted discrepancy, categorises it rightly and matches everything else by the expected rule', () => {
    const definition = parseDefinition(scenarioDefinition);
    const scenario = generateScenario(200_000, 300);

    const t0 = process.hrtime.bigint();
    const a = normaliseRecords(scenario.a, definition, 'a', { source: 'gl_lines' });
    const b = normaliseRecords(scenario.b, definition, 'b', { source: 'bank.csv' });
    const tNormalise = ms(t0);
    const t1 = process.hrtime.bigint();
    const result = reconcile(a, b, definition);
    const tReconcile = ms(t1);

    const outcome = new Map<string, string>();
    const memo = new Map<string, string>();
    for (const r of [...a, ...b]) memo.set(r.id, r.fields.memo);
    for (const m of result.matches) for (const id of [...m.a, ...m.b]) outcome.set(id, `match:${m.rule}`);
    for (const e of result.exceptions)
      for (const id of [...e.a, ...e.b]) {
        if (e.open) {
          expect(outcome.has(id)).toBe(false);
          outcome.set(id, `exc:${e.category}`);
        } else outcome.set(id, `${outcome.get(id)}|${e.category}`);
      }

    const wrong: string[] = [];
    const found = new Map<string, number>();
    const planted = new Map<string, number>();
    for (const [id, expected] of memo) {
      const got = outcome.get(id) ?? 'nothing';
      planted.set(expected, (planted.get(expected) ?? 0) + 1);
      if (got === expected) found.set(expected, (found.get(expected) ?? 0) + 1);
      else if (wrong.length < 10) wrong.push(`${id}: expected ${expected}, got ${got}`);
    }
    const table = [...planted.entries()]
      .sort()
      .map(
        ([k, n]) =>
          `  ${k.padEnd(30)} planted ${String(n).padStart(7)}  found ${String(found.get(k) ?? 0).padStart(7)}`,
      );
    console.log(
      `200k vs 200k: normalise ${tNormalise.toFixed(0)} ms (${a.length + b.length} records), ` +
        `reconcile ${tReconcile.toFixed(0)} ms, ${result.matches.length} matches, ${result.exceptions.length} exceptions\n` +
        table.join('\n'),
    );
    expect(wrong).toEqual([]);
    expect(a.length).toBeGreaterThanOrEqual(200_000);
    expect(b.length).toBeGreaterThanOrEqual(200_000);
    for (const category of [
      'missing_in_a',
      'missing_in_b',
      'amount_mismatch',
      'within_tolerance',
      'duplicate_key',
      'timing_difference',
      'sign_reversal',
      'transposition',
      'rounding',
    ])
      expect(result.summary.exceptions_by_category[category as 'rounding']).toBeGreaterThan(0);
    expect(result.gave_up).toHaveLength(1);
    expect(result.gave_up[0]).toMatchObject({ rule: 'batch', reason: 'group_too_large' });
    expect(result.summary.a.records_in).toBe(a.length);
    expect(result.summary.a.records_matched + result.summary.a.records_unmatched).toBe(a.length);
    expect(result.summary.b.records_matched + result.summary.b.records_unmatched).toBe(b.length);
  });
});
