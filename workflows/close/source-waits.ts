// A reconciliation child that waits for a source that is down tells its close (workflows/source-wait.ts): the
// task's reason then names the source, the error and the next attempt, so `finflow status` says why the task is
// taking long instead of only "running". The child's own failure, once its window is spent, blocks the task as
// any failure does.
import { setHandler } from '@temporalio/workflow';
import { reconWorkflowId } from '../../domain/ids';
import { sourceWaitReason } from '../../domain/source-wait';
import { reconSourceWaitSignal } from '../source-wait';
import { bump, specOf, type CloseRun } from './state';

const WAITING = 'waiting for source ';

export function installSourceWaits(r: CloseRun): void {
  setHandler(reconSourceWaitSignal, (notice) => {
    for (const t of r.tasks) {
      if (t.kind !== 'reconciliation' || t.state !== 'running') continue;
      const config = specOf(r, t.id).config;
      const reconId = typeof config.reconId === 'string' ? config.reconId : t.id;
      if (reconWorkflowId(r.plan.company, r.plan.period, reconId) !== notice.workflowId) continue;
      if (notice.waits.length > 0) t.reason = notice.waits.map(sourceWaitReason).join('; ');
      else if (t.reason?.startsWith(WAITING)) delete t.reason;
      bump(r);
      return;
    }
  });
}
