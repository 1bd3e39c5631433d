// Signed exception actions (issue 15): a person's explain, resolve, reopen or carry-forward of a reconciliation's
// exceptions, or the preparer's certification of the whole run (domain/exceptions/certification.ts), signed like an
// approval decision (the approval gateway, or `finflow exceptions ... --signing-key`) through signing.ts's one JWT
// path. The token carries the whole action: the close and reconciliation, the run, the
// items, the count and per-currency totals the person saw (the echo of a bulk selection), and the filter that chose
// them, so the store applies what was signed and nothing else.
import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';
import type { ExceptionAction } from '../../domain/exceptions/lifecycle';
import { parseAnyExceptionAction, type SuggestionAction } from '../../domain/exceptions/suggestions';
import { isCertifyAction, parseCertifyAction, type CertifyAction } from '../../domain/exceptions/certification';
import type { ExceptionFilter } from '../../domain/exceptions/filter';
import {
  issuesText,
  signTokenClaims,
  type ApprovalSigningKey,
  type SignApprovalOptions,
  type SignedApproval,
  type VerifyApprovalOptions,
} from './signing';
import { personTokenFailure, verifyPersonToken, type PersonTokenFailure, type TokenProof } from './person-token';

export const EXCEPTION_ACTION_TOKEN_TYPE = 'finflow-exception-action+jwt';

const text = (max: number) => z.string().trim().min(1).max(max);
const total = z.object({ currency: z.string().nullable(), total: z.string().regex(/^-?\d+(\.\d+)?$/) }).strict();

export const ExceptionActionClaimsSchema = z
  .object({
    /** The close the reconciliation belongs to. */
    workflowId: text(512),
    reconId: text(256),
    /** The result-store run whose exceptions are acted on. */
    runId: text(1024),
    by: text(256),
    /** The action (checked against the lifecycle's rules on verification). */
    exceptionAction: z.record(z.string(), z.unknown()),
    /** The items acted on; none for a certification (it speaks for the whole run). */
    itemIds: z.array(text(512)).max(100_000),
    /** The number of itemIds; for a certification, of the run's exceptions the preparer saw. */
    count: z.int().min(0),
    totals: z.array(total),
    filter: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .refine((c) => isCertifyAction(c.exceptionAction) || c.itemIds.length > 0, {
    message: 'itemIds: an action names at least one exception',
    path: ['itemIds'],
  })
  .refine((c) => isCertifyAction(c.exceptionAction) || c.count === c.itemIds.length, {
    message: 'count must be the number of itemIds',
  })
  .refine((c) => !isCertifyAction(c.exceptionAction) || (c.itemIds.length === 0 && c.filter === undefined), {
    message: "a certification names no itemIds and no filter: its count and totals are the whole run's",
    path: ['itemIds'],
  });
export type ExceptionActionClaimsInput = z.input<typeof ExceptionActionClaimsSchema>;

export interface SignedExceptionAction {
  reconId: string;
  runId: string;
  by: string;
  /** A lifecycle action, a decision on a suggested match (confirm, reject), or the preparer's certification. */
  action: ExceptionAction | SuggestionAction | CertifyAction;
  itemIds: string[];
  count: number;
  totals: { currency: string | null; total: string }[];
  filter?: ExceptionFilter;
  proof: TokenProof;
}

export type ExceptionActionVerification = { ok: true; action: SignedExceptionAction } | PersonTokenFailure;

/** Signs one person's action on exceptions of one reconciliation run. */
export async function signExceptionAction(
  claims: ExceptionActionClaimsInput,
  key: ApprovalSigningKey,
  options: SignApprovalOptions,
): Promise<SignedApproval> {
  const parsed = ExceptionActionClaimsSchema.safeParse(claims);
  if (!parsed.success) throw new Error(`exception action not signed: ${issuesText(parsed.error.issues, 'action')}`);
  const { by, ...rest } = parsed.data;
  return signTokenClaims(key, options, EXCEPTION_ACTION_TOKEN_TYPE, by, rest);
}

/**
 * Verifies an exception-action token: signature, type, issuer, audience, lifetime, claims (the action must be one
 * the lifecycle accepts, its reason code one of `reasonCodes`), and the close it is for. Never throws for a bad
 * token: the answer says why.
 */
export async function verifyExceptionActionToken(
  token: string,
  keys: JSONWebKeySet,
  options: VerifyApprovalOptions & { reasonCodes?: readonly string[] },
): Promise<ExceptionActionVerification> {
  const checked = await verifyPersonToken(
    token,
    keys,
    EXCEPTION_ACTION_TOKEN_TYPE,
    ExceptionActionClaimsSchema,
    options,
  );
  if (!checked.ok) return checked;
  const fail = personTokenFailure(checked.claims.by);
  let action: ExceptionAction | SuggestionAction | CertifyAction;
  try {
    action = isCertifyAction(checked.claims.exceptionAction)
      ? parseCertifyAction(checked.claims.exceptionAction, 'exceptionAction')
      : parseAnyExceptionAction(checked.claims.exceptionAction, {
          where: 'exceptionAction',
          ...(options.reasonCodes ? { reasonCodes: options.reasonCodes } : {}),
        });
  } catch (err) {
    return fail('invalid_claims', (err as Error).message);
  }
  const c = checked.claims;
  return {
    ok: true,
    action: {
      reconId: c.reconId,
      runId: c.runId,
      by: c.by,
      action,
      itemIds: c.itemIds,
      count: c.count,
      totals: c.totals,
      ...(c.filter ? { filter: c.filter as ExceptionFilter } : {}),
      proof: checked.proof,
    },
  };
}
