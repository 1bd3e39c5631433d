// A reconciliation history recorded on older code replays on this code without nondeterminism: the guard for the
// roll-forward step (patched 'recon-roll-forward'), which a run recorded before it never took.
// - reconciliation-period-9221fa3: GL vs bank for 2025-12 (test/workflows/recon-roll-forward-data.ts), one
//   partition: extraction of both sides, the partition, the reports; four exceptions left open.
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
