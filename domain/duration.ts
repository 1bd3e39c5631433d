// Durations written the way people say them ("4h", "30m", "1d", "90s", "1h30m", "1w", "500ms"), one grammar for
// close plans (expected durations, retry intervals) and approval policies (escalation timers), turned into
// milliseconds once, so that a typo ("4 hours", "4H", "-1h") fails when the plan or policy is loaded instead of
// becoming a zero-length timer in a running close. A day is 24 hours of elapsed time, not a working day: business
// days are turned into instants (domain/close/deadline.ts) before they are compared with durations.
import { z } from 'zod';

const UNIT_MS = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
const ORDER = Object.keys(UNIT_MS) as Unit[];
const WHOLE = /^(?:\d+(?:w|d|h|ms|m|s))+$/;
const PART = /(\d+)(w|d|h|ms|m|s)/g;
const EXPECTED = 'expected a duration such as "4h", "30m", "1d", "90s" or "1h30m"';

export class DurationError extends Error {
  constructor(
    detail: string,
    readonly input?: unknown,
    readonly where?: string,
  ) {
    super(`${where ? `${where}: ` : ''}${detail}`);
    this.name = 'DurationError';
  }
}

/**
 * Milliseconds of a duration, units from the largest down, each once ("1d12h", "1h30m"). Zero is allowed ("0h": a
 * milestone); decimals, signs, spaces, upper-case and repeated units are refused. `where` prefixes the message.
 */
export function durationMs(input: unknown, where?: string): number {
  if (typeof input !== 'string') {
    throw new DurationError(`${EXPECTED}, got ${String(input)} (a ${typeof input}, not a string)`, input, where);
  }
  if (!WHOLE.test(input)) throw new DurationError(`${EXPECTED}, got ${JSON.stringify(input)}`, input, where);
  let total = 0;
  let lastRank = -1;
  for (const [, digits, unit] of input.matchAll(PART)) {
    const rank = ORDER.indexOf(unit as Unit);
    if (rank <= lastRank) {
      const detail = `units must go from largest to smallest, once each, in ${JSON.stringify(input)}`;
      throw new DurationError(detail, input, where);
    }
    lastRank = rank;
    total += Number(digits) * UNIT_MS[unit as Unit];
  }
  if (!Number.isSafeInteger(total)) throw new DurationError(`${JSON.stringify(input)} is too long`, input, where);
  return total;
}

/** A duration longer than zero: a timer or a retry interval needs a length. */
export function positiveDurationMs(input: unknown, where?: string): number {
  const ms = durationMs(input, where);
  if (ms === 0) throw new DurationError(`${JSON.stringify(input)} must be longer than zero`, input, where);
  return ms;
}

// Spelled without weeks: approval trails written before weeks were a unit say "7d", and keep saying it.
const FORMAT_ORDER: Unit[] = ['d', 'h', 'm', 's', 'ms'];

/** The shortest canonical spelling of a millisecond count ("4h", "1h30m", "1500ms" -> "1s500ms"), in days at most. */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new RangeError(`not a positive whole number of milliseconds: ${ms}`);
  let rest = ms;
  let out = '';
  for (const unit of FORMAT_ORDER) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * UNIT_MS[unit];
  }
  return out;
}

function durationSchemaOf(parse: (v: string) => number) {
  return z.string({ error: 'a duration is a string such as "2h" or "1d"' }).superRefine((v, ctx) => {
    try {
      parse(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  });
}

/** A duration, zero allowed ("0h": a milestone). */
export const durationSchema = durationSchemaOf((v) => durationMs(v));
/** A duration longer than zero (retry intervals). */
export const positiveDurationSchema = durationSchemaOf((v) => positiveDurationMs(v));
