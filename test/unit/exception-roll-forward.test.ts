// Roll-forward's decision (issue 15): which of the previous period's unresolved exceptions this period's data
// clears, by which of its own open exceptions, and that the third population's totals are conserved.
import { Dec } from '../../domain/money';
import { authoriseExceptionAction, ExceptionActionError } from '../../domain/exceptions/lifecycle';
import {
  BROUGHT_FORWARD_STATES,
  carriedState,
  decideRollForward,
  ROLL_FORWARD_ACTOR,
  ROLL_FORWARD_RULE,
  rollForwardActor,
  rollForwardRules,
  rollForwardTotals,
  withinTolerance,
  type BroughtForwardItem,
  type CurrentItem,
} from '../../domain/exceptions/roll-forward';

const bf = (
  itemId: string,
  key: string,
  difference: string,
  state: BroughtForwardItem['state'] = 'open',
  currency: string | null = 'USD',
): BroughtForwardItem => ({ itemId, key, difference, state, currency });
const cur = (itemId: string, key: string, difference: string, currency: string | null = 'USD'): CurrentItem => ({
  itemId,
  key,
  difference,
  currency,
});

describe('roll-forward decision', () => {
  it('clears a brought-forward item by this period’s exception on the same key with the opposite amount', () => {
    const d = decideRollForward([bf('GL:1', 'DEP-1', '500.00', 'explained')], [cur('BANK:9', 'DEP-1', '-500')]);
    expect(d.cleared).toEqual([
      {
        broughtForward: bf('GL:1', 'DEP-1', '500.00', 'explained'),
        by: cur('BANK:9', 'DEP-1', '-500'),
        rule: 'same_key_opposite_amount',
        residual: '0',
      },
    ]);
    expect(d.carried).toEqual([]);
  });

  it("clears, after the exact pass, under the reconciliation's own tolerance rules in order, naming the rule and the residual", () => {
    const rules = [
      { id: 'cents', absolute: '0.05', combine: 'all' as const },
      { id: 'pct', percent: '1', combine: 'any' as const },
    ];
    const d = decideRollForward(
      [
        bf('GL:1', 'DEP-1', '500.00'),
        bf('GL:2', 'DEP-2', '200.00'),
        bf('GL:3', 'DEP-3', '100.00'),
        bf('GL:4', 'DEP-4', '50'),
      ],
      [
        cur('BANK:1', 'DEP-1', '-499.98'),
        cur('BANK:2', 'DEP-2', '-198.50'),
        cur('BANK:3', 'DEP-3', '-90.00'),
        cur('BANK:4', 'DEP-4', '-50.00'),
      ],
      rules,
    );
    expect(d.cleared.map((c) => [c.broughtForward.itemId, c.by.itemId, c.rule, c.residual])).toEqual([
      ['GL:4', 'BANK:4', 'same_key_opposite_amount', '0'],
      ['GL:1', 'BANK:1', 'cents', '0.02'],
      ['GL:2', 'BANK:2', 'pct', '1.5'],
    ]);
    // 10.00 apart on 100.00 is beyond both: carried, with its age.
    expect(d.carried.map((x) => x.itemId)).toEqual(['GL:3']);
  });

  it('does not pick between two equally good candidates under a tolerance rule, and takes the unique best one', () => {
    const rule = [{ id: 'cents', absolute: '0.10', combine: 'all' as const }];
    const tie = decideRollForward(
      [bf('GL:1', 'DEP-1', '500.00')],
      [cur('BANK:1', 'DEP-1', '-499.95'), cur('BANK:2', 'DEP-1', '-500.05')],
      rule,
    );
    expect(tie.cleared).toEqual([]);
    expect(tie.carried).toHaveLength(1);
    const best = decideRollForward(
      [bf('GL:1', 'DEP-1', '500.00')],
      [cur('BANK:1', 'DEP-1', '-499.95'), cur('BANK:2', 'DEP-1', '-499.98'), cur('GL:9', 'DEP-1', '500.01')],
      rule,
    );
    expect(best.cleared.map((c) => [c.by.itemId, c.residual])).toEqual([['BANK:2', '0.02']]);
  });

  it('holds a residual to every limit of a rule with combine all, and to one with combine any', () => {
    const both = { id: 'r', absolute: '1.00', percent: '0.1', combine: 'all' as const };
    const [x, y] = [new Dec('500'), new Dec('-499.20')];
    expect(withinTolerance(both, x, y, new Dec('0.80'))).toBe(false);
    expect(withinTolerance({ ...both, combine: 'any' }, x, y, new Dec('0.80'))).toBe(true);
    expect(withinTolerance(both, x, y, new Dec('-0.40'))).toBe(true);
  });

  it("takes only the reconciliation's automatic tolerance rules that compare amounts alone", () => {
    expect(
      rollForwardRules([
        { id: 'exact', type: 'exact' },
        { id: 'cents', type: 'tolerance', absolute: '0.05' },
        { id: 'pct', type: 'tolerance', percent: '1', combine: 'any' },
        { id: 'dated', type: 'tolerance', absolute: '1', max_days_apart: 3 },
        { id: 'proposed', type: 'tolerance', absolute: '1', auto: false },
        { id: 'deposits', type: 'tolerance', absolute: '1', where_a: { code: { in: ['DEP'] } } },
        { id: 'window', type: 'date_window' },
      ]),
    ).toEqual([
      { id: 'cents', absolute: '0.05', combine: 'all' },
      { id: 'pct', percent: '1', combine: 'any' },
    ]);
  });

  it('carries an item whose other side has another amount, another key or another currency', () => {
    const items = [bf('GL:1', 'DEP-1', '500.00'), bf('GL:2', 'CHK-2', '-250.00'), bf('GL:3', 'FX-3', '10.00')];
    const d = decideRollForward(items, [
      cur('BANK:1', 'DEP-1', '-499.99'),
      cur('BANK:2', 'CHK-9', '250.00'),
      cur('BANK:3', 'FX-3', '-10.00', 'EUR'),
    ]);
    expect(d.cleared).toEqual([]);
    expect(d.carried.map((x) => x.itemId)).toEqual(['GL:1', 'GL:2', 'GL:3']);
  });

  it('does not clear with an exception of the same sign (a second deposit is not the first one’s bank side)', () => {
    const d = decideRollForward([bf('GL:1', 'DEP-1', '500.00')], [cur('GL:7', 'DEP-1', '500.00')]);
    expect(d.cleared).toEqual([]);
    expect(d.carried).toHaveLength(1);
  });

  it('clears an amount mismatch by the missing remainder and never pairs zero differences', () => {
    const d = decideRollForward(
      [bf('GL:1', 'INV-1', '10.00'), bf('GL:2', 'INV-2', '0')],
      [cur('BANK:5', 'INV-1', '-10'), cur('BANK:6', 'INV-2', '0.00')],
    );
    expect(d.cleared.map((c) => [c.broughtForward.itemId, c.by.itemId])).toEqual([['GL:1', 'BANK:5']]);
    expect(d.carried.map((x) => x.itemId)).toEqual(['GL:2']);
  });

  it('pairs interchangeable items one to one in item-id order, whatever order they come in', () => {
    const d = decideRollForward(
      [bf('GL:2', 'DEP', '100'), bf('GL:1', 'DEP', '100'), bf('GL:3', 'DEP', '100')],
      [cur('BANK:b', 'DEP', '-100'), cur('BANK:a', 'DEP', '-100')],
    );
    expect(d.cleared.map((c) => [c.broughtForward.itemId, c.by.itemId])).toEqual([
      ['GL:1', 'BANK:a'],
      ['GL:2', 'BANK:b'],
    ]);
    expect(d.carried.map((x) => x.itemId)).toEqual(['GL:3']);
  });

  it('matches items without a currency only with items without a currency', () => {
    const d = decideRollForward(
      [bf('GL:1', 'K', '5', 'open', null)],
      [cur('B:1', 'K', '-5', null), cur('B:2', 'K', '-5')],
    );
    expect(d.cleared.map((c) => c.by.itemId)).toEqual(['B:1']);
  });

  it('refuses to bring forward a resolved exception, and a difference that is not a decimal', () => {
    expect(() => decideRollForward([bf('GL:1', 'K', '5', 'resolved')], [])).toThrow(
      'a resolved exception is not brought forward: only open, explained, carried_forward',
    );
    expect(() => decideRollForward([bf('GL:1', 'K', '5 USD')], [])).toThrow(/GL:1/);
    expect(() => decideRollForward([], [cur('B:1', 'K', '')])).toThrow(/B:1/);
  });
});

describe('carried state and the system actor', () => {
  it('makes a carried-forward item explained in the new period and keeps open and explained ones as they were', () => {
    expect(BROUGHT_FORWARD_STATES.map(carriedState)).toEqual(['open', 'explained', 'explained']);
  });

  it('names the system and the run, never a person', () => {
    expect(rollForwardActor('recon:ACME:2026-02:gl/r1')).toBe('system:roll-forward (run recon:ACME:2026-02:gl/r1)');
    expect(rollForwardActor('r1').startsWith(ROLL_FORWARD_ACTOR)).toBe(true);
    expect(ROLL_FORWARD_RULE).toBe('same_key_opposite_amount');
  });

  it('refuses a person acting under the system’s id, even with the owner role', () => {
    const act = () =>
      authoriseExceptionAction({ id: rollForwardActor('r1'), roles: ['accountant'] }, ['accountant'], 'gl-vs-bank');
    expect(act).toThrow(ExceptionActionError);
    expect(act).toThrow('ids starting with "system:" are the system\'s own');
    expect(() =>
      authoriseExceptionAction({ id: 'ana', roles: ['accountant'] }, ['accountant'], 'gl-vs-bank'),
    ).not.toThrow();
  });
});

describe('roll-forward control totals', () => {
  const items = [
    bf('GL:1', 'DEP-1', '500.00', 'explained'),
    bf('GL:2', 'CHK-2', '-250.00', 'carried_forward'),
    bf('GL:3', 'CHK-3', '-75.00', 'carried_forward'),
    bf('GL:4', 'EUR-4', '12.5', 'open', 'EUR'),
  ];

  it('counts brought in = cleared + carried, per currency at the amounts’ scale', () => {
    const d = decideRollForward(items, [cur('B:1', 'DEP-1', '-500.00'), cur('B:2', 'CHK-2', '250.00')]);
    expect(rollForwardTotals(items, d)).toEqual({
      broughtIn: {
        count: 4,
        totals: [
          { currency: 'EUR', total: '12.5' },
          { currency: 'USD', total: '175.00' },
        ],
      },
      cleared: { count: 2, totals: [{ currency: 'USD', total: '250.00' }] },
      carried: {
        count: 2,
        totals: [
          { currency: 'EUR', total: '12.5' },
          { currency: 'USD', total: '-75.00' },
        ],
      },
    });
  });

  it('fails loudly on a decision that lost an item or changed an amount', () => {
    const d = decideRollForward(items, []);
    expect(() => rollForwardTotals(items, { cleared: [], carried: d.carried.slice(1) })).toThrow(
      'roll-forward does not balance: 4 brought in, 0 cleared + 3 carried',
    );
    const changed = d.carried.map((x) => (x.itemId === 'GL:4' ? { ...x, difference: '12.4' } : x));
    expect(() => rollForwardTotals(items, { cleared: [], carried: changed })).toThrow(
      'roll-forward does not balance in EUR: 12.5 brought in, 12.4 cleared + carried',
    );
  });
});
