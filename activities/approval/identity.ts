// Approver identity, for the approval gateway: an approver app's bearer JWT from the identity provider, verified
// against the provider's keys and mapped to a user of the directory (roles from the directory, never the token).
// Moved out of signing.ts, which signs and verifies finflow's own tokens.
import { decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { TokenFailureReason } from '../../domain/approval/decision';
import type { ApprovalPolicy } from '../../domain/approval/policy';
import { APPROVAL_TOKEN_TYPE, failureOf, isoSeconds, resolverFor } from './signing';

export interface VerifyIdentityOptions {
  /** The identity provider's public keys: a JWKS, or a resolver such as jose's createRemoteJWKSet(url). */
  keys: JSONWebKeySet | JWTVerifyGetKey;
  issuer: string | string[];
  audience: string | string[];
  /** Accepted algorithms; asymmetric ones only, so a shared secret can never mint identities. */
  algorithms?: ('EdDSA' | 'ES256' | 'ES384' | 'RS256' | 'PS256')[];
  now?: Date;
  clockToleranceSeconds?: number;
  /** Claim holding the user id as it appears in the directory (default "sub"). */
  userClaim?: string;
  /** Claim where the identity provider lists roles (default "roles"); reported, never trusted. */
  roleClaim?: string;
}

export type IdentityVerification =
  | {
      ok: true;
      userId: string;
      /** From the user directory, never from the token. */
      roles: string[];
      /** Roles the token claimed that the directory does not give this user (worth logging). */
      ignoredRoleClaims: string[];
      expiresAt: string;
    }
  | { ok: false; reason: TokenFailureReason | 'missing_user_claim' | 'unknown_user'; message: string };

/**
 * Authenticates an approver's bearer JWT against the identity provider's keys and maps it to a user of the
 * directory. The roles returned are the directory's; a role claim in the token does not add any.
 */
export async function verifyIdentityJwt(
  token: string,
  directory: Pick<ApprovalPolicy, 'users'>,
  options: VerifyIdentityOptions,
): Promise<IdentityVerification> {
  if (typeof token !== 'string' || token.split('.').length !== 3)
    return { ok: false, reason: 'malformed', message: 'not a compact JWS (three dot-separated parts)' };
  try {
    if (decodeProtectedHeader(token).typ === APPROVAL_TOKEN_TYPE)
      return { ok: false, reason: 'wrong_type', message: 'an approval token is not an identity token' };
  } catch (err) {
    return { ok: false, reason: 'malformed', message: `unreadable header: ${(err as Error).message}` };
  }
  const keys = typeof options.keys === 'function' ? options.keys : resolverFor(options.keys);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      algorithms: options.algorithms ?? ['EdDSA', 'ES256', 'RS256'],
      issuer: options.issuer,
      audience: options.audience,
      currentDate: options.now,
      clockTolerance: options.clockToleranceSeconds ?? 0,
      requiredClaims: ['exp'],
    }));
  } catch (err) {
    return { ok: false, ...failureOf(err) };
  }
  const userClaim = options.userClaim ?? 'sub';
  const userId = payload[userClaim];
  if (typeof userId !== 'string' || userId === '')
    return {
      ok: false,
      reason: 'missing_user_claim',
      message: `the token has no "${userClaim}" claim naming the user`,
    };
  const user = directory.users.find((u) => u.userId === userId);
  if (!user) return { ok: false, reason: 'unknown_user', message: `${userId} is not in the user directory` };
  const claimed = payload[options.roleClaim ?? 'roles'];
  const claimedRoles = Array.isArray(claimed)
    ? claimed.filter((r): r is string => typeof r === 'string')
    : typeof claimed === 'string'
      ? claimed.split(/\s+/).filter(Boolean)
      : [];
  return {
    ok: true,
    userId,
    roles: [...user.roles],
    ignoredRoleClaims: claimedRoles.filter((r) => !user.roles.includes(r)),
    expiresAt: isoSeconds(payload.exp!),
  };
}

