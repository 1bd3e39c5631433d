// The close's status shows its reconciliations' exception ageing (issue 15): the buckets per category and currency
// each reconciliation's roll-forward reported, added over the close; absent when none reported any.
import type { ReconciliationSummary, TaskStatus } from '../../contracts';
import { graphStatus } from '../../domain/close/task-graph';
import { ageingOfGroups } from '../../domain/exceptions/ageing-groups';
import { closeStatusView, type CloseStatusState } from '../../workflows/close/status-view';

const NOW = Date.parse('2026-03-02T09:00:00Z');

function summary(reconId: string, ageing: ReturnType<typeof ageingOfGroups> | undefined): ReconciliationSummary {
  return {
    reconId,
    status: 'exceptions',
    a: { records: 1, amount: '1' },
    b: { records: 0, amount: '0' },
    keys: { matched: 0, amountMismatch: 0, missingInA: 0, missingInB: 1 },
    difference: '1',
    ...(ageing
      ? {
          rollForward: {
            fromRunId: null,
            fromPeriod: null,
            broughtIn: { count: 0, totals: [] },
            cleared: { count: 0, totals: [] },
            carried: { count: 0, totals: [] },
            clearedOwn: 0,
            ageing,
          },
        }
      : {}),
  };
}

function state(tasks: TaskStatus[]): CloseStatusState {
  return {
    closeId: 'close:ACME:2026-02',
    plan: { company: 'ACME', period: '2026-02' },
    state: 'running',
    tasks,
    checkpoints: [],
    paused: false,
    journal: [],
    notifications: [],
    period: { start: '2026-02-01', end: '2026-02-28' },
    startedAt: '2026-03-01T08:00:00Z',
    run: 1,
    refusalsNotKept: 0,
  };
}

const task = (id: string, result?: ReconciliationSummary): TaskStatus => ({
  id,
  name: id,
  kind: 'reconciliation',
  state: 'done',
  ...(result ? { result } : {}),
});

const view = (tasks: TaskStatus[]) =>
  closeStatusView(
    graphStatus({ tasks: tasks.map((t) => ({ id: t.id })) }, { now: NOW, states: { bank: 'done', ap: 'done' } }),
    state(tasks),
  );

describe('close status: exception ageing', () => {
  it('adds the reconciliations’ ageing per category and currency', () => {
    const bank = ageingOfGroups(
      [
        { category: 'missing_in_b', currency: 'USD', firstSeen: '2026-02-28', count: 1, total: '40.00' },
        { category: 'missing_in_b', currency: 'USD', firstSeen: '2025-12-31', count: 2, total: '-62.66' },
      ],
      '2026-02-28',
    );
    const ap = ageingOfGroups(
      [{ category: 'missing_in_b', currency: 'USD', firstSeen: '2025-11-01', count: 1, total: '10.00' }],
      '2026-02-28',
    );
    const status = view([task('bank', summary('bank', bank)), task('ap', summary('ap', ap))]);
    expect(status.exceptionAgeing).toEqual([
      {
        category: 'missing_in_b',
        currency: 'USD',
        buckets: {
          '0-30': { count: 1, total: '40.00' },
          '31-60': { count: 2, total: '-62.66' },
          '61-90': { count: 0, total: '0.00' },
          over_90: { count: 1, total: '10.00' },
        },
        count: 4,
        total: '-12.66',
      },
    ]);
  });

  it('has no ageing when no reconciliation reported one', () => {
    expect(view([task('bank', summary('bank', undefined)), task('ap')]).exceptionAgeing).toBeUndefined();
  });
});
