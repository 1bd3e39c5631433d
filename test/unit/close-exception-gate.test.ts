// What the close tells a reconciliation checkpoint about the reconciliations it approves (issue 15): the approval
// task's reconciliation predecessors with their result-store runs, and who explained or resolved their exceptions
// (accepted actions only, of that reconciliation's task); a reconciliation skipped or waived before it ran has
// nothing to certify, and a checkpoint no approval task follows a reconciliation with has no gate.
import type { CloseTask } from '../../domain/close/plan';
import { exceptionGateOf } from '../../workflows/close/exception-gate';
import type { CloseJournalEntry, TaskStatus } from '../../contracts';

function run(tasks: TaskStatus[], specs: Partial<CloseTask>[], journal: CloseJournalEntry[]) {
  return {
    tasks,
    taskById: new Map(tasks.map((t) => [t.id, t])),
    specById: new Map(specs.map((s) => [s.id as string, s as CloseTask])),
    journal,
  };
}

const recon = (id: string, state: TaskStatus['state'], runId?: string): TaskStatus => ({
  id,
  name: id,
  kind: 'reconciliation',
  state,
  ...(runId
    ? {
        result: {
          reconId: `${id}-recon`,
          runId,
          status: 'exceptions',
          a: { records: 0, amount: '0' },
          b: { records: 0, amount: '0' },
          keys: { matched: 0, amountMismatch: 0, missingInA: 0, missingInB: 0 },
          difference: '0',
        },
      }
    : {}),
});

const approval = (id: string, predecessors: string[]): TaskStatus => ({
  id,
  name: id,
  kind: 'approval',
  state: 'running',
  predecessors: predecessors.map((task) => ({ task, type: 'SS_WARN' })),
});

describe('exceptionGateOf', () => {
  const tasks = [
    recon('gl', 'done_with_exceptions', 'close/gl/r1'),
    recon('bank', 'running'),
    recon('fx', 'waived'),
    { id: 'prep', name: 'prep', kind: 'manual', state: 'done' } as TaskStatus,
    approval('approve', ['gl', 'bank', 'fx', 'prep', 'gl']),
    approval('other', ['prep']),
  ];
  const specs = [
    { id: 'gl', config: { reconId: 'gl-recon' } },
    { id: 'bank', config: { reconId: 'bank-recon' } },
    { id: 'fx', config: {} },
    { id: 'approve', config: { checkpointId: 'recon-review' } },
    { id: 'other', config: { checkpointId: 'review' } },
  ];
  const journal: CloseJournalEntry[] = [
    {
      at: '2026-11-02T10:00:00.000Z',
      by: 'ann',
      action: 'exceptions.explain',
      taskId: 'gl',
      accepted: true,
      note: '3 exception(s) of gl-recon, totals USD 10.00 (result-store action 4)',
    },
    { at: '2026-11-02T11:00:00.000Z', by: 'vic', action: 'exceptions.resolve', taskId: 'gl' },
    { at: '2026-11-02T12:00:00.000Z', by: 'sam', action: 'exceptions.refused', taskId: 'gl', accepted: false },
    { at: '2026-11-02T12:00:00.000Z', by: 'zed', action: 'exceptions.explain', taskId: 'gl', accepted: false },
    { at: '2026-11-02T13:00:00.000Z', by: 'ann', action: 'exceptions.explain', taskId: 'bank', accepted: true },
    { at: '2026-11-02T14:00:00.000Z', by: 'ann', action: 'complete', taskId: 'gl', accepted: true },
  ];

  it('lists the approval task’s reconciliations once, with their runs and who worked their exceptions', () => {
    expect(exceptionGateOf(run(tasks, specs, journal), 'recon-review')).toEqual({
      reconciliations: [
        {
          reconId: 'gl-recon',
          runId: 'close/gl/r1',
          state: 'done_with_exceptions',
          work: [
            { by: 'ann', action: 'explain', itemIds: ['3 exception(s) in action 4'] },
            { by: 'vic', action: 'resolve', itemIds: ['action at 2026-11-02T11:00:00.000Z'] },
          ],
        },
        {
          reconId: 'bank-recon',
          state: 'running',
          work: [{ by: 'ann', action: 'explain', itemIds: ['action at 2026-11-02T13:00:00.000Z'] }],
        },
      ],
    });
  });

  it('has no gate for a checkpoint whose task follows no reconciliation, or that no task names', () => {
    expect(exceptionGateOf(run(tasks, specs, journal), 'review')).toBeUndefined();
    expect(exceptionGateOf(run(tasks, specs, journal), 'nobody')).toBeUndefined();
    const onlyWaived = [recon('fx', 'skipped'), approval('approve', ['fx'])];
    expect(exceptionGateOf(run(onlyWaived, specs, []), 'recon-review')).toBeUndefined();
  });

  it('covers, upstream, every reconciliation the approval follows up to an earlier approval, and only direct predecessors before the patch', () => {
    const withPred = (t: TaskStatus, predecessors: string[]): TaskStatus => ({
      ...t,
      predecessors: predecessors.map((task) => ({ task, type: 'FS' })),
    });
    const plan = [
      recon('gl', 'done_with_exceptions', 'close/gl/r1'),
      withPred(recon('bank', 'done', 'close/bank/r1'), ['gl']),
      recon('ic', 'done_with_exceptions', 'close/ic/r1'),
      approval('ic_approval', ['ic']),
      withPred({ id: 'pack', name: 'pack', kind: 'manual', state: 'done' } as TaskStatus, ['bank', 'ic_approval']),
      approval('package_review', ['pack']),
    ];
    const planSpecs = [
      { id: 'gl', config: { reconId: 'gl-recon' } },
      { id: 'bank', config: { reconId: 'bank-recon' } },
      { id: 'ic_approval', config: { checkpointId: 'ic-review' } },
      { id: 'package_review', config: { checkpointId: 'pkg-review' } },
    ];
    const certified: CloseJournalEntry = {
      at: '2026-11-03T09:00:00.000Z',
      by: 'ann',
      action: 'exceptions.certify',
      taskId: 'bank',
      accepted: true,
      note: 'certified bank-recon complete: its 0 exception(s), totals none (result-store action 9)',
    };
    const upstream = exceptionGateOf(run(plan, planSpecs, [certified]), 'pkg-review', { upstream: true });
    expect(upstream?.reconciliations.map((r) => [r.reconId, r.work])).toEqual([
      ['bank-recon', [{ by: 'ann', action: 'certify', itemIds: ['certification at 2026-11-03T09:00:00.000Z'] }]],
      ['gl-recon', []],
    ]);
    expect(exceptionGateOf(run(plan, planSpecs, []), 'pkg-review')).toBeUndefined();
    expect(
      exceptionGateOf(run(plan, planSpecs, []), 'ic-review', { upstream: true })?.reconciliations.map((r) => r.reconId),
    ).toEqual(['ic-recon']);
  });

  it('names a reconciliation by its task id when neither its result nor its config does', () => {
    const bare = [recon('cash', 'pending'), approval('approve', ['cash'])];
    expect(exceptionGateOf(run(bare, [{ id: 'approve', config: { checkpointId: 'c' } }], []), 'c')).toEqual({
      reconciliations: [{ reconId: 'cash', state: 'pending', work: [] }],
    });
  });
});
