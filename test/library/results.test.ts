// The seed-shaped results and the step logic of an Execution, from a close's status.
import { join } from 'node:path';
import { currentStepOf, reached, resultsOf } from '../../client/library/results';
import type { CheckpointStatus, CloseStatus, ReconciliationSummary, TaskStatus } from '../../workflows/types';

const summary = (reconId: string, o: Partial<ReconciliationSummary>): ReconciliationSummary => ({
  reconId,
  status: 'exceptions',
  a: { records: 10, amount: '100.00' },
  b: { records: 9, amount: '90.00' },
  keys: { matched: 8, amountMismatch: 1, missingInA: 0, missingInB: 1 },
  difference: '10.00',
  ...o,
});
const task = (
  id: string,
  kind: TaskStatus['kind'],
  state: TaskStatus['state'],
  extra: Partial<TaskStatus> = {},
): TaskStatus => ({ id, name: id, kind, state, ...extra }) as TaskStatus;
const checkpoint = (checkpointId: string, state: CheckpointStatus['state']): CheckpointStatus =>
  ({ checkpointId, state, allowedRoles: [], escalations: [], decisions: [], refusals: [] }) as CheckpointStatus;
const status = (
  tasks: TaskStatus[],
  checkpoints: CheckpointStatus[] = [],
  state: CloseStatus['state'] = 'running',
): CloseStatus => ({
  closeId: 'close:ACME:2026-10',
  company: 'ACME',
  period: '2026-10',
  state,
  tasks,
  checkpoints,
  percentDone: 50,
});

describe('results in the seed shape', () => {
  it('adds up every reconciliation: records of both sides processed, matches, exceptions (counted by the engine or from the keys)', () => {
    const s = status(
      [
        task('gl_vs_erp', 'reconciliation', 'done_with_exceptions', {
          result: summary('gl-vs-erp', {
            matches: 7,
            exceptions: 4,
            reports: [{ kind: 'exceptions', format: 'csv', path: '/r/x.csv', sha256: 'a', rows: 4 }],
          }),
        }),
        task('bank', 'reconciliation', 'done', { result: summary('bank', { status: 'balanced' }) }),
        task('sox', 'documentation', 'done', {
          output: { path: '/pkg/SOX', packageId: 'SOX_1', manifestSha256: 'abc' },
        }),
      ],
      [],
      'completed',
    );
    const r = resultsOf('close:ACME:2026-10', s, { reportFile: 'report.pdf', join, closeTaskId: 'bank' });
    expect(r.status).toBe('completed');
    expect(r.reconciliation).toMatchObject({ itemsProcessed: 38, matchedItems: 15, exceptions: 6 });
    expect(r.reconciliation.byTask.map((b) => [b.taskId, b.reports])).toEqual([
      ['gl_vs_erp', ['/r/x.csv']],
      ['bank', []],
    ]);
    expect(r.complianceDocumentation).toEqual({
      filePath: '/pkg/SOX/report.pdf',
      packageDir: '/pkg/SOX',
      packageId: 'SOX_1',
      manifestSha256: 'abc',
    });
    expect(r.closeIntegration).toEqual({ closeId: 'close:ACME:2026-10', taskId: 'bank', taskStatus: 'done' });
  });

  it('says how a workflow ended without a status, with nothing counted', () => {
    const r = resultsOf('close:X:2026-10', undefined, { ended: 'terminated', reportFile: 'report.pdf', join });
    expect(r).toEqual({
      id: 'close:X:2026-10',
      status: 'terminated',
      reconciliation: { itemsProcessed: 0, matchedItems: 0, exceptions: 0, byTask: [] },
      complianceDocumentation: {},
      closeIntegration: { closeId: 'close:X:2026-10', taskStatus: 'terminated' },
    });
  });
});

describe('where a close is', () => {
  const s = status(
    [
      task('prep', 'journal_entry', 'done'),
      task('recon', 'reconciliation', 'running'),
      task('review', 'approval', 'running'),
      task('report', 'report', 'pending'),
    ],
    [checkpoint('waive:prep', 'open')],
  );

  it('names the first running task as the current step, or the state when none runs', () => {
    expect(currentStepOf(s)).toBe('recon');
    expect(currentStepOf(status([task('a', 'manual', 'done')], [], 'completed'))).toBe('completed');
  });

  it('counts an approval task as reached only once its own checkpoint waits for a decision', () => {
    expect(reached(s, 'recon')).toBe(true);
    expect(reached(s, 'prep')).toBe(true);
    expect(reached(s, 'report')).toBe(false);
    // Only a waiver checkpoint is open: the approval task has not opened its own yet.
    expect(reached(s, 'review')).toBe(false);
    expect(reached(s, 'review', () => 'recon-review')).toBe(false);
    const open = { ...s, checkpoints: [checkpoint('recon-review', 'open')] };
    expect(reached(open, 'review')).toBe(true);
    expect(reached(open, 'review', () => 'recon-review')).toBe(true);
    expect(reached(open, 'review', () => 'other')).toBe(false);
    expect(reached(open, 'completed')).toBe(false);
    expect(reached(open, 'no_such_step')).toBe(false);
  });
});
