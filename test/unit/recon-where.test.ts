// A rule's where_a / where_b (domain/recon/match-where.ts): which records of each side a rule may take. The bank's
// transaction code keeps cash deposits out of the one-to-one rules and offers only deposits to the sum rule.
import { DefinitionError } from '../../domain/recon/definition';
import { definition, exceptionList, matchList, run } from './recon-fixtures';

const DEP = 'PMNT/CNTR/CDPT';
const notDeposit = { code: { not_in: [DEP] } };
const deposit = { code: { in: [DEP] } };
const slip = {
  id: 'slip',
  type: 'sum_window' as const,
  one_side: 'a' as const,
  days_before: 1,
  days_after: 0,
  where_a: deposit,
};

describe('where_a / where_b: the records a rule may take', () => {
  it('keeps a deposit whose total equals one receipt out of the one-to-one rule, and the sum rule finds its receipts', () => {
    const r = run(
      [{ id: 'same-day', type: 'exact', compare_date: true, where_a: notDeposit }, slip],
      [['EUR', '300.00', '2026-02-01', { code: DEP }]],
      [
        ['EUR', '300.00', '2026-02-01'],
        ['EUR', '100.00', '2026-02-01'],
        ['EUR', '200.00', '2026-01-31'],
      ],
    );
    expect(matchList(r)).toEqual(['slip: A:1 = B:3+B:2']);
    expect(exceptionList(r)).toEqual(['missing_in_a:  / B:1']);
  });

  it('without the condition the same data cannot decide: the one receipt and the sum are proposed, not matched', () => {
    const r = run(
      [
        { id: 'same-day', type: 'exact', compare_date: true },
        { ...slip, where_a: undefined },
      ],
      [['EUR', '300.00', '2026-02-01', { code: DEP }]],
      [
        ['EUR', '300.00', '2026-02-01'],
        ['EUR', '100.00', '2026-02-01'],
        ['EUR', '200.00', '2026-01-31'],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['suggested_match: A:1 / B:1+B:2+B:3']);
  });

  it('never searches a payment as a sum: a line without the deposit code stays on its own side', () => {
    const r = run(
      [slip],
      [
        ['EUR', '300.00', '2026-02-01', { code: 'PMNT/RCDT/ESCT' }],
        ['EUR', '50.00', '2026-02-01'],
      ],
      [
        ['EUR', '100.00', '2026-02-01'],
        ['EUR', '200.00', '2026-02-01'],
        ['EUR', '20.00', '2026-02-01'],
        ['EUR', '30.00', '2026-02-01'],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(r.gave_up).toEqual([]);
  });

  it('a record whose field is missing passes not_in and fails in', () => {
    const r = run(
      [{ id: 'same', type: 'exact', where_a: notDeposit, where_b: { journal: { in: ['CR'] } } }],
      [
        ['K1', '10.00'],
        ['K2', '20.00'],
      ],
      [
        ['K1', '10.00', undefined, { journal: 'CR' }],
        ['K2', '20.00'],
      ],
    );
    expect(matchList(r)).toEqual(['same: A:1 = B:1']);
  });

  it('searches deposits only among the other side records where_b lets through', () => {
    const r = run(
      [{ ...slip, where_b: { journal: { in: ['CR'] } } }],
      [['EUR', '300.00', '2026-02-01', { code: DEP }]],
      [
        ['EUR', '100.00', '2026-02-01', { journal: 'CR' }],
        ['EUR', '200.00', '2026-02-01', { journal: 'AP' }],
        ['EUR', '150.00', '2026-02-01', { journal: 'CR' }],
        ['EUR', '50.00', '2026-02-01', { journal: 'CR' }],
      ],
    );
    expect(matchList(r)).toEqual(['slip: A:1 = B:3+B:1+B:4']);
  });

  it('the one-to-one review before a sum rule looks only at records the sum rule may take', () => {
    // The payment of 300.00 is also the sum of two receipts in the window: without where_a the review would propose
    // it (see recon-sum-rival.test.ts); the sum rule takes deposits only, so the pair stands.
    const rules = [{ id: 'same-day', type: 'exact' as const, compare_date: true }, slip];
    const rows: Parameters<typeof run>[1] = [['EUR', '300.00', '2026-02-01', { code: 'PMNT/RCDT/ESCT' }]];
    const gl: Parameters<typeof run>[2] = [
      ['EUR', '300.00', '2026-02-01'],
      ['EUR', '120.00', '2026-02-01'],
      ['EUR', '180.00', '2026-01-31'],
    ];
    expect(matchList(run(rules, rows, gl))).toEqual(['same-day: A:1 = B:1']);
    const unfiltered = run([rules[0], { ...slip, where_a: undefined }], rows, gl);
    expect(unfiltered.matches).toEqual([]);
    expect(exceptionList(unfiltered)).toEqual(['suggested_match: A:1 / B:1+B:2+B:3']);
    // A sum rule that takes only some receipts pools only those: 120.00 is not a receipt it may take.
    const pooled = run([rules[0], { ...slip, where_a: undefined, where_b: { journal: { in: ['CR'] } } }], rows, [
      ['EUR', '300.00', '2026-02-01', { journal: 'CR' }],
      ['EUR', '120.00', '2026-02-01', { journal: 'AP' }],
      ['EUR', '180.00', '2026-01-31', { journal: 'CR' }],
    ]);
    expect(matchList(pooled)).toEqual(['same-day: A:1 = B:1']);
  });

  it('applies to tolerance, date window, aggregated and subset-sum rules alike', () => {
    const tagged = { where_b: { journal: { in: ['CR'] } } };
    // One record per side (the fast path) and several (the sorted path).
    const tol = run(
      [{ id: 'tol', type: 'tolerance', absolute: '1.00', ...tagged }],
      [
        ['K1', '10.00'],
        ['K2', '20.00'],
        ['K2', '30.00'],
      ],
      [
        ['K1', '10.50'],
        ['K2', '20.50'],
        ['K2', '30.50', undefined, { journal: 'CR' }],
      ],
    );
    expect(matchList(tol)).toEqual(['tol: A:3 = B:3']);
    const win = run(
      [{ id: 'win', type: 'date_window', days: 3, ...tagged }],
      [
        ['K1', '10.00', '2026-01-10'],
        ['K2', '20.00', '2026-01-10'],
      ],
      [
        ['K1', '10.00', '2026-01-11'],
        ['K2', '20.00', '2026-01-12', { journal: 'CR' }],
      ],
    );
    expect(matchList(win)).toEqual(['win: A:2 = B:2']);
    const agg = run(
      [{ id: 'agg', type: 'aggregated', ...tagged }],
      [
        ['K1', '30.00'],
        ['K2', '30.00'],
        ['K3', '5.00'],
      ],
      [
        ['K1', '10.00'],
        ['K1', '20.00', undefined, { journal: 'CR' }],
        ['K2', '10.00', undefined, { journal: 'CR' }],
        ['K2', '20.00', undefined, { journal: 'CR' }],
        ['K3', '5.00', undefined, { journal: 'CR' }],
        ['K3', '5.00'],
      ],
    );
    // K1: only 20.00 may be taken (no aggregate of one against one); K3: one against one left, not an aggregate.
    expect(matchList(agg)).toEqual(['agg: A:2 = B:3+B:4']);
    const sub = run(
      [{ id: 'sub', type: 'subset_sum', ...tagged }],
      [['K1', '30.00']],
      [
        ['K1', '10.00'],
        ['K1', '20.00', undefined, { journal: 'CR' }],
        ['K1', '5.00', undefined, { journal: 'CR' }],
        ['K1', '25.00', undefined, { journal: 'CR' }],
      ],
    );
    expect(matchList(sub)).toEqual(['sub: A:1 = B:3+B:4']);
    const byRef = run(
      [{ id: 'ref', type: 'subset_sum', group_by: { field: 'ref' }, where_a: notDeposit }],
      [
        ['K1', '30.00', undefined, { ref: 'R1', code: DEP }],
        ['K2', '30.00', undefined, { ref: 'R2' }],
      ],
      [
        ['K1', '10.00', undefined, { ref: 'R1' }],
        ['K1', '20.00', undefined, { ref: 'R1' }],
        ['K2', '12.00', undefined, { ref: 'R2' }],
        ['K2', '18.00', undefined, { ref: 'R2' }],
      ],
    );
    expect(matchList(byRef)).toEqual(['ref: A:2 = B:3+B:4']);
  });

  it('refuses a condition that is neither in nor not_in, names no value or no field', () => {
    const bad = (where: unknown) => () => definition([{ id: 'x', type: 'exact', where_a: where } as never]);
    expect(bad({ code: { in: [DEP], not_in: ['X'] } })).toThrow(DefinitionError);
    expect(bad({ code: { in: [] } })).toThrow(/needs at least one value/);
    expect(bad({ code: { in: ['  '] } })).toThrow(/a value may not be empty/);
    expect(bad({})).toThrow(/names at least one field/);
    expect(bad({ code: ['X'] })).toThrow(/a condition is \{ in: \[values\] \} or \{ not_in: \[values\] \}/);
    expect(bad({ constructor: { in: ['X'] } })).toThrow(DefinitionError);
    expect(definition([{ id: 'x', type: 'exact', where_b: { code: { not_in: [' X '] } } }]).rules[0]).toMatchObject({
      where_b: { code: { not_in: ['X'] } },
    });
  });
});
