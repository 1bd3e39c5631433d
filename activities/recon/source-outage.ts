// A source that cannot be reached is not bad data and not a bug: it is reported as a SourceUnavailable failure
// (retryable, naming the source and the error, carrying the retry window), which the reconciliation workflow waits
// out with backoff while its close shows why (domain/source-wait.ts). A frozen server (one that accepts a
// connection or a query and never answers) raises no error by itself: a source that sends nothing for the stall
// timeout is reported the same way.
import { ApplicationFailure } from '@temporalio/common';
import { DEFAULT_SOURCE_RETRY_WINDOW_MS, parseRetryWindow, windowText } from '../../domain/source-wait';

/** The failure type the workflow waits out. */
export const SOURCE_UNAVAILABLE = 'SourceUnavailable';

/** How long a source may send nothing (no connection, no row) before it counts as unavailable. */
export const DEFAULT_SOURCE_STALL_MS = 2 * 60_000;

// Node's socket errors and the drivers' own for a connection that failed or was lost.
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
]);
// PostgreSQL: 08 connection exceptions; 57P01-57P03 the server shutting down, crashed or starting; 53300 too many
// connections.
const PG_UNAVAILABLE = /^(08|57P0[1-3]|53300)/;
const LOST = /Connection terminated|connection timeout|Connection lost|socket hang up|server closed the connection/i;

export class SourceStalledError extends Error {
  constructor(
    readonly source: string,
    readonly stallMs: number,
    readonly records: number,
  ) {
    super(
      records === 0
        ? `no answer from ${source} for ${windowText(stallMs)} (not connected, or no first row)`
        : `no rows from ${source} for ${windowText(stallMs)} after ${records} records`,
    );
    this.name = 'SourceStalledError';
  }
}

/** The error's own words, from an AggregateError's first error when it has none (Node's happy-eyeballs connect). */
function messageOf(err: Error & { errors?: unknown[] }): string {
  if (err.message) return err.message;
  const first = err.errors?.[0] as { message?: unknown } | undefined;
  return typeof first?.message === 'string' ? first.message : String(first ?? err.name);
}

/** The error's message when it says the source could not be reached or was lost, else undefined. */
export function unavailableReason(err: unknown): string | undefined {
  if (err instanceof SourceStalledError) return err.message;
  // Duck-typed, not `instanceof Error`: a driver's socket error may come from another realm (a VM context).
  if (typeof err !== 'object' || err === null || err instanceof ApplicationFailure) return undefined;
  const e = err as Error & { code?: unknown; errors?: unknown[] };
  if (typeof e.message !== 'string') return undefined;
  const codes = [e.code, ...(e.errors ?? []).map((x) => (x as { code?: unknown })?.code)];
  if (codes.some((c) => typeof c === 'string' && (CONNECTION_CODES.has(c) || PG_UNAVAILABLE.test(c))))
    return messageOf(e);
  return LOST.test(messageOf(e)) ? messageOf(e) : undefined;
}

/** The failure for a source that could not be reached: retryable, with the source, the error and the window. */
export function sourceUnavailable(source: string, reason: string, windowMs?: number): ApplicationFailure {
  return ApplicationFailure.create({
    message: `source ${source} unavailable: ${reason}`,
    type: SOURCE_UNAVAILABLE,
    nonRetryable: false,
    details: [{ source, error: reason, ...(windowMs !== undefined ? { windowMs } : {}) }],
  });
}

/** The failure with its retry window filled in (the extraction does not know the worker's settings). */
export function withRetryWindow(err: unknown, windowMs: number): unknown {
  if (!(err instanceof ApplicationFailure) || err.type !== SOURCE_UNAVAILABLE) return err;
  const d = (err.details?.[0] ?? {}) as { source?: string; error?: string; windowMs?: number };
  if (d.windowMs !== undefined) return err;
  return sourceUnavailable(d.source ?? 'source', d.error ?? err.message, windowMs);
}

/**
 * The retry window of a source: its own `retry_window`, else its system's (FINFLOW_SYSTEMS' retryWindow or
 * FINFLOW_SYSTEM_<NAME>_RETRY_WINDOW), else FINFLOW_SOURCE_RETRY_WINDOW, else 15 minutes. A bad setting is refused.
 */
export function retryWindowOf(
  source: { retry_window?: string; system?: string } | undefined,
  systemWindow: ((name: string) => string | undefined) | undefined,
  env: NodeJS.ProcessEnv = process.env,
): number {
  const where = (what: string, text: string) => {
    try {
      return parseRetryWindow(text, what);
    } catch (err) {
      throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidSource');
    }
  };
  if (source?.retry_window !== undefined) return where('source retry_window', source.retry_window);
  const own = source?.system !== undefined ? systemWindow?.(source.system) : undefined;
  if (own !== undefined) return where(`system ${source?.system} retryWindow`, own);
  if (env.FINFLOW_SOURCE_RETRY_WINDOW) return where('FINFLOW_SOURCE_RETRY_WINDOW', env.FINFLOW_SOURCE_RETRY_WINDOW);
  return DEFAULT_SOURCE_RETRY_WINDOW_MS;
}

/** The stall timeout of a source: its own `stall_timeout`, else FINFLOW_SOURCE_STALL_TIMEOUT, else 2 minutes. */
export function stallMsOf(
  source: { stall_timeout?: string } | undefined,
  env: NodeJS.ProcessEnv = process.env,
): number {
  const text = source?.stall_timeout ?? env.FINFLOW_SOURCE_STALL_TIMEOUT;
  if (text === undefined) return DEFAULT_SOURCE_STALL_MS;
  try {
    return parseRetryWindow(
      text,
      source?.stall_timeout !== undefined ? 'source stall_timeout' : 'FINFLOW_SOURCE_STALL_TIMEOUT',
    );
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidSource');
  }
}

/**
 * The batches of a source, each awaited at most `stallMs`: a source that sends nothing for that long (a frozen
 * server, a dead network path that never resets) ends the read with SourceStalledError instead of hanging. The
 * stalled read is asked to stop, without waiting for it (a frozen server may never let it).
 */
export async function* withStallTimeout<T extends unknown[]>(
  batches: AsyncGenerator<T>,
  source: string,
  stallMs: number,
): AsyncGenerator<T> {
  let records = 0;
  let open = true;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new SourceStalledError(source, stallMs, records)), stallMs);
      });
      let next: IteratorResult<T>;
      try {
        next = await Promise.race([batches.next(), stalled]);
      } catch (err) {
        if (err instanceof SourceStalledError) {
          open = false;
          void batches.return(undefined as never).catch(() => undefined);
        }
        throw err;
      } finally {
        clearTimeout(timer);
      }
      if (next.done) {
        open = false;
        return;
      }
      records += next.value.length;
      yield next.value;
    }
  } finally {
    // The reader stopped early (bad data further on): the source's connection is released as before.
    if (open) await batches.return(undefined as never);
  }
}
