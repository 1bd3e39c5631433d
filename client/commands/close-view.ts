// How a close looks on a terminal: its status as text (`finflow close status`), a progress bar, and the live view
// of `finflow close watch` (moved out of close.ts, behaviour unchanged).
import type { WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { statusRows, textTable, shortTime, type ReportStatus } from '../../activities/close-report';
import { statusQuery } from '../../workflows/definitions';
import type { CloseStatus } from '../../workflows/types';
import type { StatusAnswer } from '../close-status-source';

/** A close's status as text: the task table, reconciliation figures, checkpoints, critical path. */
export function formatStatus(s: CloseStatus): string {
  const r = s as unknown as ReportStatus;
  const lines = [`${s.closeId}  ${s.state.toUpperCase()}${r.paused ? ' (PAUSED)' : ''}  ${s.percentDone}% done`];
  if (r.closeDeadline) lines.push(`deadline ${shortTime(r.closeDeadline)}`);
  lines.push(
    textTable(statusRows(r))
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
  );
  for (const t of s.tasks)
    if (t.result)
      lines.push(
        `  ${t.id}: matched=${t.result.keys.matched} mismatched=${t.result.keys.amountMismatch} ` +
          `missing_in_a=${t.result.keys.missingInA} missing_in_b=${t.result.keys.missingInB} difference=${t.result.difference}`,
      );
  for (const c of s.checkpoints) {
    const last = c.decisions[c.decisions.length - 1];
    lines.push(
      `  checkpoint ${c.checkpointId}: ${c.state}` +
        (c.state === 'open' ? `; may approve: ${c.allowedRoles.join(', ')}` : '') +
        (c.state !== 'open' && last ? `; last decision: ${last.decision} by ${last.approverId} (${last.role})` : '') +
        (c.escalations.length ? `; escalated to ${c.escalations.map((e) => e.toRole).join(', ')}` : '') +
        (c.refusals.length ? `; ${c.refusals.length} refused attempt(s)` : '') +
        (c.warning ? `; ${c.warning}` : ''),
    );
  }
  if (r.criticalPath?.length) lines.push(`  critical path: ${r.criticalPath.join(' -> ')}`);
  return lines.join('\n');
}

export function progressBar(percent: number, width = 30): string {
  const p = Math.max(0, Math.min(100, Math.round(percent)));
  const filled = Math.round((p / 100) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(p).padStart(3)}%`;
}

const clock = () => new Date().toISOString().slice(11, 19);

/** Which path gave a frame's status, in a few words: `read model v42 0.3s` or `live query`. */
function sourceTag(a: StatusAnswer): string {
  if (a.source === 'read-model') return `read model v${a.version} ${((a.ageMs ?? 0) / 1000).toFixed(1)}s`;
  return a.source === 'result' ? 'result' : 'live query';
}

/**
 * Follows a close until its workflow ends. On a terminal: one frame redrawn in place (progress bar, task table),
 * every `intervalMs`. Elsewhere (pipes, CI logs): a line per change, so the log reads as the close's story.
 * Each look reads the status through `read` (client/close-status-source.ts: the read model, else the query; default
 * the query), and the view says which path answered. Returns the last status seen and whether the workflow completed.
 */
export async function watchClose(
  handle: WorkflowHandle,
  opts: {
    intervalMs: number;
    write: (s: string) => void;
    tty: boolean;
    columns?: number;
    read?: () => Promise<StatusAnswer>;
  },
): Promise<{ status: CloseStatus | undefined; ok: boolean; error?: string; cancelled?: boolean }> {
  const read =
    opts.read ?? (async (): Promise<StatusAnswer> => ({ status: await handle.query(statusQuery), source: 'query' }));
  let ended: { ok: boolean; value?: CloseStatus; error?: string; cancelled?: boolean } | undefined;
  const result = handle.result().then(
    (value: unknown) => (ended = { ok: true, value: value as CloseStatus }),
    (err: unknown) => {
      const cause = (err as Error).cause;
      // A cancelled close has no result, but its status says who cancelled it, why, and what stopped.
      if (cause instanceof CancelledFailure) return (ended = { ok: false, cancelled: true, error: String(cause) });
      return (ended = { ok: false, error: cause ? String(cause) : String(err) });
    },
  );
  let last: CloseStatus | undefined;
  let frameLines = 0;
  const states = new Map<string, string>();
  let lastPercent = -1;
  let lastState = '';
  let lastSource = '';
  let tag = '';
  const render = (s: CloseStatus) => {
    if (opts.tty) {
      const r = s as unknown as ReportStatus;
      const done = s.tasks.filter((t) => /^(done|done_with_\w+|skipped|waived)$/.test(t.state)).length;
      const head =
        `${s.closeId}  ${s.state.toUpperCase()}${r.paused ? ' (PAUSED)' : ''}  ${progressBar(s.percentDone)}  ` +
        `${done}/${s.tasks.length} tasks  ${clock()}${tag ? `  (${tag})` : ''}`;
      const body = textTable(statusRows(r)).split('\n');
      const tail = r.criticalPath?.length ? [`critical path: ${r.criticalPath.join(' -> ')}`] : [];
      const frame = [head, ...body, ...tail];
      // Move up over the previous frame, clear it, draw the new one: no scrolling, no flicker of a full clear.
      opts.write(`${frameLines ? `\x1b[${frameLines}A\r\x1b[J` : ''}${frame.join('\n')}\n`);
      frameLines = frame.length;
      return;
    }
    const source = tag.startsWith('read model')
      ? 'the read model'
      : tag === 'live query'
        ? 'the live status query'
        : tag === 'result'
          ? "the close's result"
          : '';
    if (source && source !== lastSource) {
      opts.write(`${clock()} status from ${source}\n`);
      lastSource = source;
    }
    for (const t of s.tasks) {
      const before = states.get(t.id);
      if (before !== t.state) {
        const why = t.reason ? ` (${t.reason})` : '';
        opts.write(`${clock()} ${t.id}: ${before === undefined ? '' : `${before} -> `}${t.state}${why}\n`);
        states.set(t.id, t.state);
      }
    }
    if (s.percentDone !== lastPercent || s.state !== lastState) {
      opts.write(`${clock()} ${s.closeId} ${s.state} ${progressBar(s.percentDone)}\n`);
      lastPercent = s.percentDone;
      lastState = s.state;
    }
  };
  if (opts.tty) opts.write('\x1b[?25l');
  try {
    for (;;) {
      try {
        const a = await read();
        tag = sourceTag(a);
        last = a.status;
        render(last);
      } catch {
        // The first workflow task may not have run yet, or the worker is restarting: keep watching.
      }
      if (ended) break;
      await Promise.race([new Promise((r) => setTimeout(r, opts.intervalMs)), result]);
      if (ended) {
        const e = ended as { ok: boolean; value?: CloseStatus; cancelled?: boolean };
        if (e.ok && e.value) {
          last = e.value;
          tag = 'result';
          render(last);
        }
        if (e.cancelled)
          try {
            last = await handle.query(statusQuery);
            render(last);
          } catch {
            // No worker to answer: the last status seen stands.
          }
        break;
      }
    }
  } finally {
    if (opts.tty) opts.write('\x1b[?25h');
  }
  const e = ended as { ok: boolean; error?: string; cancelled?: boolean };
  return { status: last, ok: e.ok, error: e.error, ...(e.cancelled ? { cancelled: true } : {}) };
}

/** The line `finflow close watch` ends with for a close that was cancelled. */
export function cancelledLine(closeId: string, s: CloseStatus | undefined): string {
  const c = s?.cancellation;
  if (!c) return `${closeId} was cancelled`;
  const stopped = c.tasksCancelled.length ? `; stopped: ${c.tasksCancelled.join(', ')}` : '';
  return `${closeId} was cancelled by ${c.by} at ${c.at}${c.reason ? `: ${c.reason}` : ''}${stopped}`;
}
