// The scenario's close plan (examples/monthly-close/close-plan.yaml) read as a user's file: it must parse, order
// and schedule the way issue 8 describes the close.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { resolveBusinessCalendar } from '../../activities/calendar';
import { calendarWindow, resolveDeadline } from '../../domain/close/deadline';
import { parsePeriodKey } from '../../domain/close/fiscal-calendar';
import { type ClosePlan, parseClosePlan } from '../../domain/close/plan';
import {
  type TaskStates,
  blockedBy,
  percentDone,
  readyTasks,
  schedule,
  topologicalOrder,
} from '../../domain/close/task-graph';

const FILE = join(__dirname, '../../examples/monthly-close/close-plan.yaml');
const H = 3_600_000;

function loadPlan(): ClosePlan {
  return parseClosePlan(parse(readFileSync(FILE, 'utf8')), 'examples/monthly-close/close-plan.yaml');
}

describe('the monthly close example plan', () => {
  it('parses, with the tasks of the scenario', () => {
    const plan = loadPlan();
    expect(plan.company).toBe('ACME');
    expect(plan.tasks.map((t) => t.id).sort()).toEqual(
      [
        'preliminary_close',
        'subsystem_validation',
        'gl_vs_erp',
        'bank_reconciliation',
        'reconciliation_approval',
        'adjusting_entry',
        'adjusting_entry_approval',
        'sox_documentation',
        'financial_reporting',
        'management_review',
      ].sort(),
    );
    expect(plan.tasks.find((t) => t.id === 'sox_documentation')?.config).toMatchObject({ controlId: 'F-R3-GL-15' });
  });

  it('orders validation first, the reconciliations next, approvals and SOX documentation, then reporting and review', () => {
    const order = topologicalOrder(loadPlan());
    const at = (id: string) => order.indexOf(id);
    expect(order.slice(0, 2)).toEqual(['preliminary_close', 'subsystem_validation']);
    for (const recon of ['gl_vs_erp', 'bank_reconciliation']) {
      expect(at(recon)).toBeGreaterThan(at('subsystem_validation'));
      expect(at(recon)).toBeLessThan(at('reconciliation_approval'));
    }
    expect(at('adjusting_entry_approval')).toBeLessThan(at('sox_documentation'));
    expect(order.slice(-3)).toEqual(['sox_documentation', 'financial_reporting', 'management_review']);
  });

  it('runs the two reconciliations in parallel and lets their exceptions go to approval', () => {
    const plan = loadPlan();
    expect(readyTasks(plan, {})).toEqual(['preliminary_close']);
    const validated: TaskStates = { preliminary_close: 'done', subsystem_validation: 'done' };
    expect(readyTasks(plan, validated).sort()).toEqual(['bank_reconciliation', 'gl_vs_erp']);
    const reconciled: TaskStates = { ...validated, gl_vs_erp: 'done_with_warnings', bank_reconciliation: 'done' };
    expect(readyTasks(plan, reconciled)).toEqual(['reconciliation_approval']);
    expect(percentDone(plan, reconciled).percent).toBe(40);
  });

  it('blocks only what depends on a failed bank reconciliation', () => {
    const plan = loadPlan();
    const states: TaskStates = {
      preliminary_close: 'done',
      subsystem_validation: 'done',
      gl_vs_erp: 'running',
      bank_reconciliation: 'failed',
    };
    const blocked = blockedBy(plan, states);
    expect(blocked.map((b) => b.task)).toEqual([
      'reconciliation_approval',
      'adjusting_entry',
      'adjusting_entry_approval',
      'sox_documentation',
      'financial_reporting',
      'management_review',
    ]);
    expect(blocked.every((b) => b.root === 'bank_reconciliation')).toBe(true);
    expect(readyTasks(plan, states)).toEqual([]);
    expect(readyTasks(plan, { ...states, bank_reconciliation: 'waived' })).toEqual([]);
    expect(readyTasks(plan, { ...states, gl_vs_erp: 'done', bank_reconciliation: 'waived' })).toEqual([
      'reconciliation_approval',
    ]);
  });

  it('is due at month end + 3 business days: Wednesday 4 November 2026 at 18:00 New York standard time', () => {
    const plan = loadPlan();
    const period = parsePeriodKey(plan.period, plan.fiscalCalendar);
    expect(period.end).toBe('2026-10-31');
    const deadlines = [plan.deadline as string, ...plan.tasks.flatMap((t) => (t.deadline ? [t.deadline] : []))];
    const window = calendarWindow(period.start, period.end, deadlines);
    const calendar = resolveBusinessCalendar({ holidays: plan.holidays ?? {}, ...window });
    const due = resolveDeadline(plan.deadline as string, { periodEnd: period.end, calendar, cutoff: plan.cutoff });
    expect(due).toMatchObject({ date: '2026-11-04', dueAt: '2026-11-04T23:00:00.000Z' });
    // Every task deadline resolves inside the window, none after the close's own.
    for (const t of plan.tasks) {
      const d = resolveDeadline(t.deadline as string, { periodEnd: period.end, calendar, cutoff: plan.cutoff });
      expect(d.dueAtMs).toBeLessThanOrEqual(due.dueAtMs);
    }
  });

  it('has the GL reconciliation, not the bank one, on its critical path of 24 hours of expected work', () => {
    const plan = loadPlan();
    const now = Date.UTC(2026, 10, 2, 14, 0);
    const s = schedule(plan, { now });
    expect(s.criticalPath).toEqual([
      'preliminary_close',
      'subsystem_validation',
      'gl_vs_erp',
      'reconciliation_approval',
      'adjusting_entry',
      'adjusting_entry_approval',
      'sox_documentation',
      'financial_reporting',
      'management_review',
    ]);
    expect(s.projectedEnd - now).toBe(24 * H);
    expect(s.tasks.find((t) => t.id === 'bank_reconciliation')?.slack).toBe(1 * H);
  });
});
