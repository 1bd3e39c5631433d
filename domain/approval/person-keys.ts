// Per-person signing keys (issue 18): the user key directory binds each public key (by kid) to one person, with
// the window it may sign in and its revocation. A token a person signs through the CLI counts only when its key
// belongs to the person the token names, was valid when the token was signed, and was not revoked by then.
// Pure: the file is read and written in activities/approval/user-keys.ts; the worker judges tokens with this.
import { z } from 'zod';

export const USER_KEYS_SCHEMA = 'finflow.user-keys';

/** A refused key, as the workflow's trail and the audit ledger record it. */
export type PersonKeyFailureReason =
  'key_not_registered' | 'key_of_another_person' | 'key_revoked' | 'key_expired' | 'key_not_yet_valid';

/** Thrown for a directory or a change to it that is not well-formed; nothing is changed. */
export class UserKeyDirectoryError extends Error {
  override name = 'UserKeyDirectoryError';
}

const Instant = z.iso.datetime({ offset: true });
const Id = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\s]+$/, 'must not contain spaces');

const PublicJwkSchema = z
  .looseObject({
    kty: z.enum(['OKP', 'EC']),
    kid: z.string().min(1),
    alg: z.enum(['EdDSA', 'ES256']),
    x: z.string().min(1),
  })
  .refine((k) => !('d' in k), 'holds a private key ("d"): the directory keeps public keys only');

const UserKeyRecordSchema = z.strictObject({
  kid: z.string().min(1).max(128),
  personId: Id,
  publicJwk: PublicJwkSchema,
  validFrom: Instant,
  validUntil: Instant.optional(),
  addedAt: Instant,
  addedBy: Id,
  revokedAt: Instant.optional(),
  revokedBy: Id.optional(),
  revocationReason: z.string().min(1).max(1000).optional(),
});
export type UserKeyRecord = z.output<typeof UserKeyRecordSchema>;

const UserKeyDirectorySchema = z.strictObject({
  schema: z.literal(USER_KEYS_SCHEMA),
  version: z.literal(1),
  keys: z.array(UserKeyRecordSchema),
});
export type UserKeyDirectory = z.output<typeof UserKeyDirectorySchema>;

export const emptyUserKeyDirectory = (): UserKeyDirectory => ({ schema: USER_KEYS_SCHEMA, version: 1, keys: [] });

const ms = (iso: string): number => Date.parse(iso);

/** Checks what the schema cannot: unique kids, each JWK's kid equal to its record's, a window that is not empty. */
function consistencyProblem(dir: UserKeyDirectory): string | undefined {
  const seen = new Set<string>();
  for (const [i, k] of dir.keys.entries()) {
    if (seen.has(k.kid)) return `keys.${i}: kid ${k.kid} appears twice (a key id names one key, forever)`;
    seen.add(k.kid);
    if (k.publicJwk.kid !== k.kid)
      return `keys.${i}: publicJwk.kid ${k.publicJwk.kid} is not the record's kid ${k.kid}`;
    if (k.validUntil !== undefined && ms(k.validUntil) <= ms(k.validFrom))
      return `keys.${i}: validUntil ${k.validUntil} is not after validFrom ${k.validFrom}`;
    if (
      (k.revokedAt === undefined) !== (k.revokedBy === undefined) ||
      (k.revokedAt === undefined) !== (k.revocationReason === undefined)
    )
      return `keys.${i}: a revocation names when (revokedAt), by whom (revokedBy) and why (revocationReason), all three`;
  }
  return undefined;
}

/** Reads a directory (parsed JSON), naming `where` and the offending field in any refusal. */
export function parseUserKeyDirectory(value: unknown, where: string): UserKeyDirectory {
  const parsed = UserKeyDirectorySchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserKeyDirectoryError(
      `${where}: ${issue.path.map(String).join('.') || '(whole file)'}: ${issue.message}`,
    );
  }
  const problem = consistencyProblem(parsed.data);
  if (problem) throw new UserKeyDirectoryError(`${where}: ${problem}`);
  return parsed.data;
}

/** The directory with `record` added; a reused kid, or a record that does not parse, is refused. */
export function addUserKey(dir: UserKeyDirectory, record: UserKeyRecord): UserKeyDirectory {
  if (dir.keys.some((k) => k.kid === record.kid))
    throw new UserKeyDirectoryError(`kid ${record.kid} is already in the directory: a key id names one key, forever`);
  return parseUserKeyDirectory({ ...dir, keys: [...dir.keys, record] }, `adding key ${record.kid}`);
}

/** The directory with `kid` revoked as of `at`; an unknown or already revoked key, or no reason, is refused. */
export function revokeUserKey(
  dir: UserKeyDirectory,
  r: { kid: string; at: string; by: string; reason: string },
): UserKeyDirectory {
  const i = dir.keys.findIndex((k) => k.kid === r.kid);
  if (i < 0) throw new UserKeyDirectoryError(`no key ${r.kid} in the directory`);
  const key = dir.keys[i];
  if (key.revokedAt !== undefined)
    throw new UserKeyDirectoryError(
      `key ${r.kid} of ${key.personId} was already revoked at ${key.revokedAt} by ${key.revokedBy}`,
    );
  if (!r.reason.trim()) throw new UserKeyDirectoryError(`revoking key ${r.kid} needs a reason`);
  const revoked = { ...key, revokedAt: r.at, revokedBy: r.by, revocationReason: r.reason.trim() };
  return parseUserKeyDirectory(
    { ...dir, keys: dir.keys.map((k, j) => (j === i ? revoked : k)) },
    `revoking key ${r.kid}`,
  );
}

export type PersonKeyJudgement =
  { ok: true; record: UserKeyRecord } | { ok: false; reason: PersonKeyFailureReason; message: string };

/**
 * Whether the key `kid` may sign for `personId` at `signedAt` (the token's iat): it must be in the directory, be
 * that person's, have been valid then, and not have been revoked by then. A revocation also refuses what the key
 * signed earlier but that arrives after the revocation (`now`): once a key is known lost, nothing it signed counts.
 */
export function judgePersonKey(
  dir: UserKeyDirectory,
  t: { kid: string; personId: string; signedAt: string; now: string },
): PersonKeyJudgement {
  const record = dir.keys.find((k) => k.kid === t.kid);
  if (!record)
    return {
      ok: false,
      reason: 'key_not_registered',
      message: `key ${t.kid} is not a person's key in the user key directory (finflow keys user add)`,
    };
  if (record.personId !== t.personId)
    return {
      ok: false,
      reason: 'key_of_another_person',
      message: `key ${t.kid} belongs to ${record.personId}, and the token says it is signed by ${t.personId}`,
    };
  if (record.revokedAt !== undefined && ms(record.revokedAt) <= Math.max(ms(t.signedAt), ms(t.now)))
    return {
      ok: false,
      reason: 'key_revoked',
      message: `key ${t.kid} of ${record.personId} was revoked at ${record.revokedAt} by ${record.revokedBy}: ${record.revocationReason}`,
    };
  // A token's iat is in whole seconds: one signed in the very second the key became valid (registered at
  // 12:00:00.500, signed at 12:00:00.800, iat 12:00:00) was signed while it was valid.
  if (ms(t.signedAt) < Math.floor(ms(record.validFrom) / 1000) * 1000)
    return {
      ok: false,
      reason: 'key_not_yet_valid',
      message: `key ${t.kid} of ${record.personId} is valid from ${record.validFrom}; the token was signed at ${t.signedAt}`,
    };
  if (record.validUntil !== undefined && ms(t.signedAt) >= ms(record.validUntil))
    return {
      ok: false,
      reason: 'key_expired',
      message: `key ${t.kid} of ${record.personId} expired at ${record.validUntil}; the token was signed at ${t.signedAt}`,
    };
  return { ok: true, record };
}
