// Approval checkpoint histories recorded on older code replay on this code without nondeterminism: the guard for
// moving the checkpoint host's rules into domain/approval and its parts into modules of their own.
// - approval-escalated-1af73e3: a reconciliation review reminded at 4h, escalated to manager and then director,
//   approved by the director through the escalation.
// - approval-resubmitted-1af73e3: a 75,000 journal entry approved at level 1, rejected at level 2, resubmissions
//   refused (not the preparer, unsigned, replayed) and one accepted, round 2 approved.
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

const timers = (h: temporal.api.history.v1.History) =>
  h.events?.filter((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_TIMER_FIRED).length ?? 0;

describe('approval checkpoint histories recorded on older code', () => {
  it('replays an approval that escalated twice on its timers before the director approved it', async () => {
    const history = recorded('approval-escalated-1af73e3.json');
    expect(timers(history)).toBeGreaterThanOrEqual(2);
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'approval:REPLAY:escalated'),
    ).resolves.toBeUndefined();
  });

  it('replays a rejected journal entry, its refused and accepted resubmissions, and the second round approved', async () => {
    const history = recorded('approval-resubmitted-1af73e3.json');
    expect(history.events?.length).toBeGreaterThan(50);
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'approval:REPLAY:resubmitted'),
    ).resolves.toBeUndefined();
  });
});
