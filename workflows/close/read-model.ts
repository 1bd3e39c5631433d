// The close keeps its status read model current (issue 16): `finflow close status`, `close watch` and
// Execution.status() read it from PostgreSQL instead of waiting for the close's workflow task. After each turn of
// the close's loop, when something changed, the close sends what changed since its last acknowledged write (every
// task in a run's first write) through the `publishCloseStatus` local activity: one write at a time, so the changes
// of the turns that pass while one is being written go together in the next. A local activity's input stays out
// of the history; its result is one marker event per write. The version grows with every write and goes on across
// continue-as-new. A store that fails is left alone for a while (the close does not wait on it); one without a
// database (not_configured) is not written again. Closes recorded before this replay without it (patched).
import { patched, proxyLocalActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { CloseStatusActivities, CloseStatusWrite } from '../../activities/close-status';
import { allCheckpoints, closeStatus, nowMs, type CloseRun } from './state';

/** patched() id: the close writes its status read model. */
export const CLOSE_STATUS_READ_MODEL = 'close-status-read-model';

/** After a failed write, the close writes again only after this long (and on a change). */
const FAILURE_PAUSE_MS = 30_000;

// A local activity holds the close's workflow task while it runs: a slow store must not hold the close, so one short
// attempt; a write that fails is sent again, whole with what changed since, after FAILURE_PAUSE_MS.
const statusStore = proxyLocalActivities<CloseStatusActivities>({
  startToCloseTimeout: '2s',
  retry: { maximumAttempts: 1 },
});

export interface ReadModel {
  /** Sends what changed, unless a write is under way (its landing sends what changed meanwhile). */
  publish(): void;
  /** Waits for the write under way, then writes what is left: before the close ends. */
  flush(): Promise<void>;
  /**
   * Waits for the write under way and sends no other: before the close continues as new (the next run writes
   * everything, above this run's version).
   */
  settle(): Promise<void>;
  /** The last version written: the next run of the close goes on from it. */
  version(): number;
  /**
   * Something changed that publish() would send now: the close's loop wakes on it too, since an approval decision
   * or an exception action changes the status without waking the loop.
   */
  dirty(): boolean;
}

/**
 * What of a checkpoint is worth a write of its own: its state, round, open level, decisions, escalations and
 * resubmissions. Refused attempts are not (they go out with the next write): a flood of them must not become a
 * flood of writes.
 */
function checkpointKey(c: ReturnType<typeof allCheckpoints>[number]): string {
  return [
    c.checkpointId,
    c.state,
    c.round ?? '',
    c.openLevel?.level ?? '',
    c.decisions.length,
    c.escalations.length,
    c.resubmissions?.length ?? 0,
    c.waitingFor ?? '',
  ].join(':');
}

export function readModelOf(r: CloseRun, carriedVersion = 0): ReadModel {
  if (!patched(CLOSE_STATUS_READ_MODEL))
    return {
      publish: () => undefined,
      flush: async () => undefined,
      settle: async () => undefined,
      version: () => carriedVersion,
      dirty: () => false,
    };
  let version = carriedVersion;
  /** `position:JSON` of each task as the store acknowledged it. */
  const acked = new Map<string, string>();
  let ackedKey: string | undefined;
  let inflight: Promise<void> | undefined;
  let pausedUntil = 0;
  let notConfigured = false;
  const { firstExecutionRunId } = workflowInfo();
  // What the loop changes without a bump (state, pause, end) counts as a change too, and so does what the approval
  // checkpoints and people's actions change without one (a level decided, the next one open; a journal entry).
  const key = () =>
    `${r.version}|${r.state}|${r.paused}|${r.finishedAt ?? ''}|${r.journal.length}|${r.notifications.length}|` +
    allCheckpoints(r).map(checkpointKey).join(',');

  const send = (wakeAfter: boolean): Promise<void> => {
    const sentKey = key();
    const { tasks, ...close } = closeStatus(r);
    const changed: CloseStatusWrite['tasks'] = [];
    const texts: [string, string][] = [];
    tasks.forEach((t, position) => {
      const text = `${position}:${JSON.stringify(t)}`;
      if (acked.get(t.id) === text) return;
      changed.push({ id: t.id, position, status: t });
      texts.push([t.id, text]);
    });
    version++;
    const write: CloseStatusWrite = {
      closeId: r.closeId,
      firstRunId: firstExecutionRunId,
      startedAt: r.startedAt,
      run: r.run,
      version,
      taskCount: tasks.length,
      close,
      tasks: changed,
    };
    inflight = statusStore.publishCloseStatus(write).then(
      (res) => {
        inflight = undefined;
        if (res.written) {
          for (const [id, text] of texts) acked.set(id, text);
          ackedKey = sentKey;
        } else if (res.reason === 'not_configured') notConfigured = true;
        else {
          // A newer version is there (a write of this chain the close no longer remembers): go on above it, whole.
          version = Math.max(version, res.current);
          acked.clear();
          ackedKey = undefined;
          return;
        }
        // What changed while this write was under way: wake the loop, which sends it.
        if (wakeAfter && !notConfigured && key() !== sentKey) r.version++;
      },
      () => {
        inflight = undefined;
        pausedUntil = nowMs() + FAILURE_PAUSE_MS;
        // Write again after the pause even if nothing else changes: a close that waits (for a person, say) would
        // otherwise leave its last change unwritten, and readers would see the row from before it for as long.
        if (wakeAfter)
          void sleep(FAILURE_PAUSE_MS).then(
            () => void r.version++,
            () => undefined, // cancelled with the close
          );
      },
    );
    return inflight;
  };

  const due = () => !notConfigured && !inflight && nowMs() >= pausedUntil && key() !== ackedKey;
  return {
    publish() {
      if (due()) void send(true);
    },
    dirty: due,
    async settle() {
      while (inflight) await inflight;
    },
    async flush() {
      while (inflight) await inflight;
      if (notConfigured || key() === ackedKey) return;
      await send(false);
    },
    version: () => version,
  };
}
