// Expected durations and retry intervals of close tasks, written as people say them: "2h", "1d", "30m", "1h30m".
// A day is 24 hours of elapsed time, not a working day: the critical path is measured on the clock, and
// deadlines (business days) are turned into instants before they are compared with it.
import { z } from 'zod';

const UNIT_MS = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
type Unit = keyof typeof UNIT_MS;
const ORDER = Object.keys(UNIT_MS) as Unit[];
const WHOLE = /^(?:\d+[wdhms])+$/;
const PART = /(\d+)([wdhms])/g;

export class DurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DurationError';
  }
}

/** Milliseconds of "2h", "1d", "45m", "90s", "1w" or a combination from the largest unit down ("1d4h", "1h30m"). */
export function durationMs(text: string): number {
  const expected = 'expected a duration such as "2h", "1d", "30m" or "1h30m"';
  if (typeof text !== 'string' || !WHOLE.test(text))
    throw new DurationError(`${expected}, got ${JSON.stringify(text)}`);
  let total = 0;
  let lastRank = -1;
  for (const [, digits, unit] of text.matchAll(PART)) {
    const rank = ORDER.indexOf(unit as Unit);
    if (rank <= lastRank)
      throw new DurationError(`${JSON.stringify(text)}: units go from largest to smallest, each once`);
    lastRank = rank;
    total += Number(digits) * UNIT_MS[unit as Unit];
  }
  if (!Number.isSafeInteger(total)) throw new DurationError(`${JSON.stringify(text)} is too long`);
  return total;
}

function durationSchemaOf(minMs: number) {
  return z.string({ error: 'a duration is a string such as "2h" or "1d"' }).superRefine((v, ctx) => {
    try {
      if (durationMs(v) < minMs)
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} must be longer than zero` });
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  });
}

/** A duration, zero allowed ("0h": a milestone). */
export const durationSchema = durationSchemaOf(0);
/** A duration longer than zero (retry intervals). */
export const positiveDurationSchema = durationSchemaOf(1);
