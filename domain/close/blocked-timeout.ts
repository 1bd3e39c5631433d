// How long a blocked close waits for a person (issue 19: moved out of workflows/month-end-close.ts, behaviour
// unchanged). A close is blocked when nothing runs, nothing can start and no waiver is waiting: it waits for a
// person to rerun, waive or skip, up to its blockedTimeout (30 days unless the close says), then ends blocked. The
// legacy input shape ended as soon as nothing more could run. Pure: the close keeps the clock.
import { durationMs } from '../duration';

export const DEFAULT_BLOCKED_TIMEOUT = '30d';

/** The close's blocked timeout in ms; a duration it cannot read throws the duration grammar's error. */
export function blockedTimeoutMs(option: string | undefined, legacy: boolean): number {
  return durationMs(option ?? (legacy ? '0s' : DEFAULT_BLOCKED_TIMEOUT));
}

export interface CloseActivity {
  paused: boolean;
  /** Tasks whose work (activity, child, approval, retry wait) is under way. */
  working: number;
  /** Waivers waiting for their approval. */
  waiting: number;
  /** A task is running (a person task waits for its owner). */
  running: boolean;
  /** Tasks that could start once the close is resumed or a slot frees: asked last, it costs a walk of the graph. */
  eligible(): number;
}

/** Nothing runs, nothing waits and nothing can start: only a person can move the close on. A paused close is not. */
export function isBlocked(c: CloseActivity): boolean {
  return !c.paused && c.working === 0 && c.waiting === 0 && !c.running && c.eligible() === 0;
}

/**
 * How long the close waits for a change before it looks again, ms: until the next deadline look (`wakeAt`) or the
 * end of the blocked timeout, whichever is first, at least a second; undefined when nothing but a change wakes it.
 */
export function waitForChangeMs(now: number, wakeAt: number | undefined, blockedUntil?: number): number | undefined {
  let until = wakeAt;
  if (blockedUntil !== undefined) until = Math.min(until ?? Infinity, blockedUntil);
  return until === undefined ? undefined : Math.max(1000, until - now);
}
