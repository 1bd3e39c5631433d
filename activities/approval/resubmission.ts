// Signed resubmissions. After a rejection the preparer sends the item again (possibly with a new amount or new
// evidence); like a decision, a resubmission changes what approvers are asked to sign, so it is proven, not
// claimed: the gateway authenticates the preparer and signs it with the same keys as decisions, under its own
// JWS type so a resubmission can never be replayed as a decision or the other way round.
import { decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { z } from 'zod';
import { EvidenceRefSchema, type TokenFailureReason } from '../../domain/approval/decision';
import { parseDecimal } from '../../domain/money';
import {
  APPROVAL_ALGORITHMS,
  ApprovalTokenError,
  assertApprovalKeySet,
  failureOf,
  isoSeconds,
  issuesText,
  resolverFor,
  signTokenClaims,
  type ApprovalSigningKey,
  type SignApprovalOptions,
  type SignedApproval,
} from './signing';

export const RESUBMISSION_TOKEN_TYPE = 'finflow-resubmission+jwt';

const Amount = z
  .string()
  .max(64)
  .refine((v) => {
    try {
      parseDecimal(v);
      return true;
    } catch {
      return false;
    }
  }, 'must be a decimal amount as a string, such as "75000.00"');

export const ResubmissionSchema = z.strictObject({
  workflowId: z.string().min(1).max(256),
  checkpointId: z.string().min(1).max(128),
  /** The round this resubmission opens: the rejected round + 1. */
  round: z.number().int().min(2),
  preparerId: z.string().min(1).max(256),
  amount: Amount.optional(),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .optional(),
  itemRef: z.string().min(1).max(256).optional(),
  description: z.string().max(4000).optional(),
  evidence: z.array(EvidenceRefSchema).max(50).default([]),
  resolution: z.string().max(4000).optional(),
});
export type Resubmission = z.output<typeof ResubmissionSchema>;
export type ResubmissionInput = z.input<typeof ResubmissionSchema>;

export interface ResubmissionClaims extends Resubmission {
  nonce: string;
  issuedAt: string;
  expiresAt: string;
  issuer: string;
  kid: string;
}

/** JSON-safe result of verifying a resubmission token (what the activity returns to the workflow). */
export type ResubmissionVerification =
  | { ok: true; claims: ResubmissionClaims }
  | { ok: false; reason: TokenFailureReason; message: string; preparerId?: string };

/** Signs a preparer's resubmission; the gateway calls it only for the user it authenticated as preparerId. */
export async function signResubmission(
  resubmission: ResubmissionInput,
  key: ApprovalSigningKey,
  options: SignApprovalOptions,
): Promise<SignedApproval> {
  const parsed = ResubmissionSchema.safeParse(resubmission);
  if (!parsed.success)
    throw new ApprovalTokenError(`resubmission not signed: ${issuesText(parsed.error.issues, 'resubmission')}`);
  const { preparerId, ...rest } = parsed.data;
  return signTokenClaims(key, options, RESUBMISSION_TOKEN_TYPE, preparerId, rest);
}

/** Verifies a resubmission token: signature, type, issuer, audience, expiry, shape and workflow. Never throws for a bad token. */
export async function verifyResubmissionToken(
  token: string,
  keys: JSONWebKeySet,
  options: {
    issuer: string | string[];
    audience: string;
    now?: Date;
    expectedWorkflowId?: string;
    clockToleranceSeconds?: number;
  },
): Promise<ResubmissionVerification> {
  assertApprovalKeySet(keys);
  let claimedPreparer: string | undefined;
  try {
    const sub = decodeJwt(token).sub;
    if (typeof sub === 'string') claimedPreparer = sub;
  } catch {
    // an unreadable token names nobody
  }
  const fail = (f: { reason: TokenFailureReason; message: string }): ResubmissionVerification => ({
    ok: false,
    ...f,
    ...(claimedPreparer ? { preparerId: claimedPreparer } : {}),
  });
  if (typeof token !== 'string' || token.split('.').length !== 3)
    return fail({ reason: 'malformed', message: 'not a compact JWS (three dot-separated parts)' });
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch (err) {
    return fail({ reason: 'malformed', message: `unreadable header: ${(err as Error).message}` });
  }
  if (typeof kid !== 'string') return fail({ reason: 'unknown_key', message: 'the token names no key (no "kid")' });
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, resolverFor(keys), {
      algorithms: [...APPROVAL_ALGORITHMS],
      typ: RESUBMISSION_TOKEN_TYPE,
      issuer: options.issuer,
      audience: options.audience,
      currentDate: options.now,
      clockTolerance: options.clockToleranceSeconds ?? 0,
      requiredClaims: ['exp', 'iat', 'jti', 'sub'],
    }));
  } catch (err) {
    return fail(failureOf(err));
  }
  const { iss, sub, jti, iat, exp, aud: _aud, nbf: _nbf, ...custom } = payload;
  const parsed = ResubmissionSchema.safeParse({ ...custom, preparerId: sub });
  if (!parsed.success)
    return fail({ reason: 'invalid_claims', message: issuesText(parsed.error.issues, 'resubmission') });
  if (typeof jti !== 'string' || jti.length < 8 || jti.length > 128)
    return fail({ reason: 'invalid_claims', message: 'jti (nonce) must be 8 to 128 characters' });
  if (options.expectedWorkflowId !== undefined && parsed.data.workflowId !== options.expectedWorkflowId)
    return fail({
      reason: 'wrong_workflow',
      message: `the resubmission is for workflow ${parsed.data.workflowId}, not ${options.expectedWorkflowId}`,
    });
  return {
    ok: true,
    claims: {
      ...parsed.data,
      nonce: jti,
      issuedAt: isoSeconds(iat!),
      expiresAt: isoSeconds(exp!),
      issuer: iss!,
      kid,
    },
  };
}
