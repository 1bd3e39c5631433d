// A source system that is down (refused connections, a server restarting, a frozen one that answers nothing) is
// waited for, not failed at once: extraction is tried again with backoff over a window (default 15 minutes), and
// meanwhile the close says which source, what error and when the next attempt is. Once the window is spent the
// task blocks with that reason. Pure: the reconciliation workflow and its tests share it.
import { durationMs } from './duration';

/** How long a source may stay unavailable before its reconciliation gives up (a restart, a failover, a patch). */
export const DEFAULT_SOURCE_RETRY_WINDOW_MS = 15 * 60_000;
/** Wait before the second attempt; doubled per attempt up to SOURCE_RETRY_MAX_DELAY_MS. */
export const SOURCE_RETRY_FIRST_DELAY_MS = 5_000;
export const SOURCE_RETRY_MAX_DELAY_MS = 2 * 60_000;

/** A source waited for: what the reconciliation (and its close) shows while it waits. */
export interface SourceWait {
  side: 'a' | 'b';
  /** `<engine>:<system>` or a file's base name: never a connection string. */
  source: string;
  /** The last attempt's error. */
  error: string;
  /** Attempts made so far (all failed). */
  attempts: number;
  /** ISO instant of the first failure. */
  since: string;
  /** ISO instant of the next attempt. */
  nextAttemptAt: string;
  /** The window, in milliseconds from the first failure. */
  windowMs: number;
}

/**
 * The window a failure asks for: a positive whole number of milliseconds, or the default (a failure recorded by an
 * older worker carries none).
 */
export function retryWindowMs(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : DEFAULT_SOURCE_RETRY_WINDOW_MS;
}

/** A window written as a duration ("15m", "1h"); `where` names the setting in the error. */
export function parseRetryWindow(text: string, where: string): number {
  const ms = durationMs(text, where);
  if (ms <= 0) throw new RangeError(`${where}: the retry window must be longer than zero, got ${JSON.stringify(text)}`);
  return ms;
}

/**
 * How long to wait after failed attempt `attempt` (1-based) that began a wait at `firstFailureMs`, or undefined when
 * the window is spent. The wait doubles from SOURCE_RETRY_FIRST_DELAY_MS up to SOURCE_RETRY_MAX_DELAY_MS and never
 * runs past the window's end, so the last attempt is made when the window closes.
 */
export function nextSourceAttemptMs(
  attempt: number,
  firstFailureMs: number,
  nowMs: number,
  windowMs: number,
): number | undefined {
  const left = firstFailureMs + windowMs - nowMs;
  if (left <= 0) return undefined;
  const delay = Math.min(SOURCE_RETRY_MAX_DELAY_MS, SOURCE_RETRY_FIRST_DELAY_MS * 2 ** Math.min(attempt - 1, 20));
  return Math.min(delay, left);
}

/** A window in words: "15m", "1h30m", "45s". */
export function windowText(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, s] of [
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / s);
    rest -= n * s;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  return parts.join('') || `${ms}ms`;
}

/** What a close task says while its reconciliation waits for a source. */
export function sourceWaitReason(w: SourceWait): string {
  return (
    `waiting for source ${w.source} (side ${w.side}): ${w.error}; ${w.attempts} attempt${w.attempts === 1 ? '' : 's'} ` +
    `since ${w.since}, next attempt at ${w.nextAttemptAt}, gives up after ${windowText(w.windowMs)}`
  );
}

/** The reconciliation's failure once the window is spent: the task blocks with it. */
export function sourceGaveUpMessage(
  w: Pick<SourceWait, 'side' | 'source' | 'error' | 'attempts' | 'since' | 'windowMs'>,
): string {
  return (
    `source ${w.source} (side ${w.side}) unavailable for ${windowText(w.windowMs)} since ${w.since} ` +
    `(${w.attempts} attempts): ${w.error}`
  );
}
