// What every token a person's action travels in must pass, beyond the signature checkSignedToken checks: the
// claims of its kind (schema), the signer's name in `sub`, a nonce, and the close it is for. Task actions and
// exception actions verify through it; each adds only what its own kind needs.
import { decodeJwt, type JSONWebKeySet } from 'jose';
import type { z } from 'zod';
import type { TokenFailureReason } from '../../domain/approval/decision';
import { checkSignedToken, isoSeconds, issuesText, type VerifyApprovalOptions } from './signing';

/** Where a verified action's signature came from, as the journal and the audit ledger record it. */
export interface TokenProof {
  kid: string;
  nonce: string;
  issuer: string;
  issuedAt: string;
  expiresAt: string;
}

export type PersonTokenFailure = { ok: false; reason: TokenFailureReason; message: string; claimedBy?: string };

export type PersonTokenCheck<T> = { ok: true; claims: T; proof: TokenProof } | PersonTokenFailure;

/** Verifies a person's action token of type `typ` whose claims `schema` reads (with `by` from `sub`). */
export async function verifyPersonToken<T extends { workflowId: string; by: string }>(
  token: string,
  keys: JSONWebKeySet,
  typ: string,
  schema: z.ZodType<T>,
  options: VerifyApprovalOptions,
): Promise<PersonTokenCheck<T>> {
  let claimedBy: string | undefined;
  try {
    const sub = typeof token === 'string' ? decodeJwt(token).sub : undefined;
    if (typeof sub === 'string') claimedBy = sub.slice(0, 256);
  } catch {
    // an unreadable token names nobody
  }
  const fail = personTokenFailure(claimedBy);
  const checked = await checkSignedToken(token, keys, typ, options);
  if (!checked.ok) return fail(checked.reason, checked.message);
  const { iss, sub, jti, iat, exp, aud: _aud, nbf: _nbf, ...custom } = checked.payload;
  const parsed = schema.safeParse({ ...custom, by: sub });
  if (!parsed.success) return fail('invalid_claims', issuesText(parsed.error.issues, 'action'));
  if (typeof jti !== 'string' || jti.length < 8 || jti.length > 128)
    return fail('invalid_claims', 'jti (nonce) must be 8 to 128 characters');
  if (options.expectedWorkflowId !== undefined && parsed.data.workflowId !== options.expectedWorkflowId)
    return fail(
      'wrong_workflow',
      `the action is for workflow ${parsed.data.workflowId}, not ${options.expectedWorkflowId}`,
    );
  return {
    ok: true,
    claims: parsed.data,
    proof: { kid: checked.kid, nonce: jti, issuer: iss!, issuedAt: isoSeconds(iat!), expiresAt: isoSeconds(exp!) },
  };
}

/** A refusal naming the person the token claims to be (unproven: for the record only). */
export function personTokenFailure(claimedBy: string | undefined) {
  return (reason: TokenFailureReason, message: string): PersonTokenFailure => ({
    ok: false,
    reason,
    message,
    ...(claimedBy ? { claimedBy } : {}),
  });
}
