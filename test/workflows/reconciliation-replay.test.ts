// A reconciliation history recorded on older code replays on this code without nondeterminism: the guard for the
// roll-forward step (patched 'recon-roll-forward'), which a run recorded before it never took.
// - reconciliation-period-9221fa3: GL vs bank for 2025-12 (test/workflows/recon-roll-forward-data.ts), one
//   partition: extraction of both sides, the partition, the reports; four exceptions left open.
// - reconciliation-source-wait-04db53a: a run of a close whose ERP (MariaDB) was stopped when it began
//   (test/workflows/reconciliation-source-wait.test.ts): the ERP extraction failed as SourceUnavailable, the run told
//   its close, waited on a timer, extracted again once the server was back, told the close the wait was over.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../helpers/temporal';

function recorded(file: string): temporal.api.history.v1.History {
  const raw = JSON.parse(readFileSync(join(__dirname, '../fixtures/histories', file), 'utf8')) as Record<
    string,
    unknown
  >;
  return temporal.api.history.v1.History.fromObject(raw);
}

const activities = (h: temporal.api.history.v1.History) =>
  (h.events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
    .filter((n): n is string => typeof n === 'string');

describe('reconciliation histories recorded before roll-forward', () => {
  it('replays a period whose run extracted, reconciled and reported without a roll-forward step', async () => {
    const history = recorded('reconciliation-period-9221fa3.json');
    expect(activities(history)).toEqual([
      'extractReconSide',
      'extractReconSide',
      'reconcilePartition',
      'writeReconReports',
    ]);
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'recon:ACME:2025-12:gl-vs-bank'),
    ).resolves.toBeUndefined();
  });
});

describe('reconciliation histories recorded with a source wait (patched recon-source-wait)', () => {
  it('replays a run that waited for its stopped ERP, told its close, and went on once the ERP was back', async () => {
    const history = recorded('reconciliation-source-wait-04db53a.json');
    const types = (history.events ?? []).map((e) => String(e.eventType));
    expect(
      types.filter((t) => t === String(temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED)),
    ).toHaveLength(1);
    expect(types.filter((t) => t === String(temporal.api.enums.v1.EventType.EVENT_TYPE_TIMER_STARTED))).toHaveLength(1);
    expect(
      types.filter(
        (t) => t === String(temporal.api.enums.v1.EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
      ),
    ).toHaveLength(2);
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: await workflowBundle() },
        history,
        'recon:SW-24115-mxe0e1o8-1:2026-10:gl-vs-erp',
      ),
    ).resolves.toBeUndefined();
  });
});
