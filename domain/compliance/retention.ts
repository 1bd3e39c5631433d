// Retention of evidence: how long a package must be kept, from a policy keyed by regulation. SOX section 802
// (and SEC rule 2-06 of Regulation S-X) has audit workpapers kept seven years, hence the default. Pure: the
// clock is an input.
import { z } from 'zod';

export const RetentionPolicySchema = z
  .object({
    /** Years to keep a package, by regulation (compared case-insensitively). */
    years: z.record(z.string().min(1), z.int().min(0).max(100)),
    /** Years for a regulation the table does not name; absent means such a package is refused. */
    defaultYears: z.int().min(0).max(100).optional(),
  })
  .strict();
export type RetentionPolicy = z.infer<typeof RetentionPolicySchema>;

export const DEFAULT_RETENTION_POLICY: RetentionPolicy = { years: { SOX: 7 }, defaultYears: 7 };

export function retentionYears(policy: RetentionPolicy, regulation: string): number {
  const hit = Object.entries(policy.years).find(([k]) => k.toLowerCase() === regulation.toLowerCase());
  if (hit) return hit[1];
  if (policy.defaultYears !== undefined) return policy.defaultYears;
  throw new Error(`the retention policy has no period for regulation ${JSON.stringify(regulation)}`);
}

/**
 * The instant a package may first be purged: `years` calendar years after `from` (UTC). 29 February moves to
 * 1 March in a common year rather than back to 28 February, so retention is never cut short.
 */
export function retainUntil(policy: RetentionPolicy, regulation: string, from: string): string {
  const start = new Date(from);
  if (Number.isNaN(start.getTime())) throw new Error(`retention start ${JSON.stringify(from)} is not an ISO date`);
  const end = new Date(start.getTime());
  end.setUTCFullYear(start.getUTCFullYear() + retentionYears(policy, regulation));
  return end.toISOString();
}
