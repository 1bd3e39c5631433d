// Signed delegations (issue 18): `finflow approval delegate` signs, with the signer's own key, one token per running
// close naming the delegation (from, to, window, scope); the close verifies it in a local activity like every
// other person's token (user-keys.ts binds the key to the signer) and judges it (domain/approval/delegation.ts).
import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { DelegationGrantSchema, type DelegationGrant } from '../../domain/approval/delegation';
import { verifyPersonToken, type PersonTokenFailure, type TokenProof } from './person-token';
import {
  issuesText,
  signTokenClaims,
  type ApprovalSigningKey,
  type SignApprovalOptions,
  type SignedApproval,
  type VerifyApprovalOptions,
} from './signing';

export const DELEGATION_TOKEN_TYPE = 'finflow-delegation+jwt';

const DelegationClaimsSchema = z.strictObject({
  workflowId: z.string().trim().min(1).max(512),
  /** Who signs: the delegator, or an administrator (the token's subject). */
  by: z.string().trim().min(1).max(256),
  delegation: DelegationGrantSchema,
});
export type DelegationClaimsInput = z.input<typeof DelegationClaimsSchema>;

export type DelegationVerification =
  { ok: true; by: string; delegation: DelegationGrant; proof: TokenProof } | PersonTokenFailure;

/** Signs one delegation for one close. A grant that does not read is refused here, naming the field. */
export async function signDelegation(
  claims: DelegationClaimsInput,
  key: ApprovalSigningKey,
  options: SignApprovalOptions,
): Promise<SignedApproval> {
  const parsed = DelegationClaimsSchema.safeParse(claims);
  if (!parsed.success) throw new Error(`delegation not signed: ${issuesText(parsed.error.issues, 'delegation')}`);
  const { by, ...rest } = parsed.data;
  return signTokenClaims(key, options, DELEGATION_TOKEN_TYPE, by, rest);
}

/** Verifies a delegation token: signature, type, issuer, audience, lifetime, claims, and the close it is for. */
export async function verifyDelegationToken(
  token: string,
  keys: JSONWebKeySet,
  options: VerifyApprovalOptions,
): Promise<DelegationVerification> {
  const checked = await verifyPersonToken(token, keys, DELEGATION_TOKEN_TYPE, DelegationClaimsSchema, options);
  if (!checked.ok) return checked;
  return { ok: true, by: checked.claims.by, delegation: checked.claims.delegation, proof: checked.proof };
}
