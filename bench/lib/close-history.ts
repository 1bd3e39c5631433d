// The close's workflow tasks as its history tells them (moved out of bench/close.ts, behaviour unchanged): how long
// each took (started -> completed), what it handled (events since the previous task's completion) and what it
// commanded. A query is answered between workflow tasks, so these bound its wait while the close works.
import type { temporal } from '@temporalio/proto';
import { tsToMs } from '@temporalio/common/lib/time';

export interface WorkflowTaskDetail {
  ms: number;
  n: number;
  handled: Map<string, number>;
  commanded: Map<string, number>;
}

export function workflowTasksOf(history: temporal.api.history.v1.IHistory): {
  wft: number[];
  wftDetail: WorkflowTaskDetail[];
} {
  const wft: number[] = [];
  // Per workflow task: what it handled (events since the previous task's completion) and what it commanded.
  const wftDetail: { ms: number; n: number; handled: Map<string, number>; commanded: Map<string, number> }[] = [];
  let wftStart: number | undefined;
  let handled = new Map<string, number>();
  let commanded: Map<string, number> | undefined;
  const kind = (e: object) =>
    (Object.keys(e).find((k) => k.endsWith('EventAttributes') && (e as Record<string, unknown>)[k]) ?? '?').replace(
      /EventAttributes$/,
      '',
    );
  for (const e of history.events ?? []) {
    const at = tsToMs(e.eventTime);
    const k = kind(e);
    if (e.workflowTaskStartedEventAttributes) wftStart = at;
    else if (e.workflowTaskCompletedEventAttributes && wftStart !== undefined) {
      wft.push(at - wftStart);
      commanded = new Map();
      wftDetail.push({ ms: at - wftStart, n: wftDetail.length + 1, handled, commanded });
      handled = new Map();
      wftStart = undefined;
    } else if (e.workflowTaskScheduledEventAttributes) commanded = undefined;
    else if (commanded && !k.startsWith('workflowTask')) commanded.set(k, (commanded.get(k) ?? 0) + 1);
    else if (!k.startsWith('workflowTask')) handled.set(k, (handled.get(k) ?? 0) + 1);
  }
  return { wft, wftDetail };
}
