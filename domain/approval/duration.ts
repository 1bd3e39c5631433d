// Durations in approval policies are written the way people say them ("4h", "30m", "1d", "1h30m") and turned
// into milliseconds here, once, so a typo ("4 hours", "4H", "-1h") fails when the policy is loaded instead of
// becoming a zero-length escalation timer in a running close.

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
const ORDER: Unit[] = ['d', 'h', 'm', 's', 'ms'];

const WHOLE = /^(?:\d+(?:d|h|ms|m|s))+$/;
const PART = /(\d+)(d|h|ms|m|s)/g;

export class DurationError extends Error {
  constructor(
    readonly input: unknown,
    readonly where: string | undefined,
    detail: string,
  ) {
    super(`${where ? `${where}: ` : ''}${detail}`);
    this.name = 'DurationError';
  }
}

/**
 * Milliseconds of a duration such as "4h", "30m", "1d", "90s", "500ms" or a combination from the largest unit
 * down ("1d12h", "1h30m"). Refuses zero, negatives, decimals, spaces, upper-case units and repeated units.
 */
export function parseDuration(input: unknown, where?: string): number {
  const expected = 'expected a duration such as "4h", "30m", "1d", "90s" or "1h30m"';
  if (typeof input !== 'string') throw new DurationError(input, where, `${expected}, got ${typeof input}`);
  if (!WHOLE.test(input)) throw new DurationError(input, where, `${expected}, got ${JSON.stringify(input)}`);
  let total = 0;
  let lastRank = -1;
  for (const [, digits, unit] of input.matchAll(PART)) {
    const rank = ORDER.indexOf(unit as Unit);
    if (rank <= lastRank)
      throw new DurationError(
        input,
        where,
        `units must go from largest to smallest, once each, in ${JSON.stringify(input)}`,
      );
    lastRank = rank;
    total += Number(digits) * UNIT_MS[unit as Unit];
  }
  if (!Number.isSafeInteger(total)) throw new DurationError(input, where, `${JSON.stringify(input)} is too long`);
  if (total === 0) throw new DurationError(input, where, `${JSON.stringify(input)} is zero; a timer needs a length`);
  return total;
}

/** The shortest canonical spelling of a millisecond count ("4h", "1h30m", "1500ms" -> "1s500ms"). */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new RangeError(`not a positive whole number of milliseconds: ${ms}`);
  let rest = ms;
  let out = '';
  for (const unit of ORDER) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * UNIT_MS[unit];
  }
  return out;
}
