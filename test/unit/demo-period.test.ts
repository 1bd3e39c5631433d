// The demo's period: the month that ended last, the example plan moved to it whole, and its deadlines read
// against the day the demo runs (business days and public holidays as the close itself resolves them).
import { readClosePlan } from '../../client/close-plan-file';
import { lastEndedPeriod, periodLines, periodTiming, withPeriod } from '../../examples/monthly-close/demo-period';
import { PLAN_FILE } from '../../examples/monthly-close/scenario';

const at = (iso: string) => Date.parse(iso);

describe('the period the demo closes', () => {
  it('is the month that ended last, across a year end too', () => {
    expect(lastEndedPeriod('2026-12-07')).toBe('2026-11');
    expect(lastEndedPeriod('2027-01-02')).toBe('2026-12');
  });

  it('moves every mention of the plan file period to the chosen one: statements, references, the close', () => {
    const plan = withPeriod(readClosePlan(PLAN_FILE), '2026-11');
    const text = JSON.stringify(plan);
    expect(text).not.toContain('2026-10');
    expect(plan.period).toBe('2026-11');
    expect(text).toContain('statements/bank-5432-2026-11.camt053.xml');
    expect(text).toContain('recon:ACME:2026-11:gl-vs-erp');
    expect(text).toContain('close:ACME:2026-11');
    expect(text).toContain('November close, reconciliations, adjusting entry and SOX package');
    expect(text).not.toContain('October');
    expect(() => withPeriod(readClosePlan(PLAN_FILE), '2026-13')).toThrow(/--period takes yyyy-MM/);
  });

  it('reads November 2026 deadlines as all past on 7 December and says plainly why every task will be late', () => {
    const plan = withPeriod(readClosePlan(PLAN_FILE), '2026-11');
    const t = periodTiming(plan, at('2026-12-07T18:25:00Z'));
    expect(t.standing).toBe('past');
    // Month end is Monday 30 November: BD+1 is 1 December, the close's +3 business days 3 December, 18:00 -05:00.
    expect(t.firstDue?.date).toBe('2026-12-01');
    expect(t.closeDue?.date).toBe('2026-12-03');
    expect(t.closeDue?.dueAt).toBe('2026-12-03T23:00:00.000Z');
    const lines = periodLines(t, '2026-12-07', 'default');
    expect(lines[0]).toContain('2026-11, the month that ended last (today is 2026-12-07 UTC)');
    expect(lines[1]).toBe(
      '  deadlines      tasks fall due 2026-12-01T18:00:00-05:00 to 2026-12-03T18:00:00-05:00, ' +
        'the close by 2026-12-03T18:00:00-05:00',
    );
    expect(lines[2]).toContain('all passed before this run: EVERY task will finish late');
  });

  it('reads the deadlines as ahead, or partly past, inside the close window', () => {
    const plan = withPeriod(readClosePlan(PLAN_FILE), '2026-11');
    expect(periodTiming(plan, at('2026-12-01T12:00:00Z')).standing).toBe('ahead');
    expect(periodTiming(plan, at('2026-12-02T12:00:00Z')).standing).toBe('partly-past');
    expect(periodLines(periodTiming(plan, at('2026-12-01T12:00:00Z')), '2026-12-01', 'default')[2]).toContain(
      'all still ahead',
    );
  });

  it('steps over New Year as the close does: December 2026 falls due from Monday 4 January', () => {
    const t = periodTiming(withPeriod(readClosePlan(PLAN_FILE), '2026-12'), at('2027-01-02T12:00:00Z'));
    expect(t.firstDue?.date).toBe('2027-01-04');
    expect(t.standing).toBe('ahead');
  });
});
