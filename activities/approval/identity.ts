// Approver identity, for the approval gateway: an approver app's bearer JWT from the identity provider, verified
// against the provider's keys and mapped to a user of the directory (roles from the directory, never the token).
// Moved out of signing.ts, which signs and verifies finflow's own tokens.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type {
  IdentityProofFailureReason,
  IdentityProofRecord,
  TokenFailureReason,
} from '../../domain/approval/decision';
import type { ApprovalPolicy } from '../../domain/approval/policy';
import { APPROVAL_TOKEN_TYPE, failureOf, IDENTITY_PROOF_CLAIM, isoSeconds, resolverFor } from './signing';

export { IDENTITY_PROOF_CLAIM } from './signing';

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

// ---------------------------------------------------------------- the identity provider's proof in a gateway decision
// The gateway signs a decision for the person the identity provider proved; so that a worker need not take the
// gateway's word for it, the gateway puts the provider's own signed token for that person (the caller's bearer JWT)
// into the decision it signs, as the claim IDENTITY_PROOF_CLAIM. A worker configured with the provider's keys
// (identityConfigFromEnv) checks it (verifyIdentityProof): signed by the provider, its issuer and audience,
// unexpired at the workflow's time, and naming the very person the decision names. A gateway key alone can
// therefore not sign for anyone the provider did not prove. The workflow also counts each proof for one decision
// only (workflows/approval/decisions.ts), by the proof's token id.

/** An identity provider's token is a few kilobytes at most (RS256, many claims); anything larger is refused unread. */
const MAX_PROOF_CHARS = 12_288;

/** What a worker needs to check the provider's proof: the provider's keys, issuer and audience. */
export type IdentityProofConfig = Omit<VerifyIdentityOptions, 'now' | 'roleClaim'>;

export type IdentityProofCheck =
  { ok: true; proof: IdentityProofRecord } | { ok: false; reason: IdentityProofFailureReason; message: string };

/**
 * The identity provider a worker checks gateway decisions against, from the same variables as the gateway's:
 * FINFLOW_IDENTITY_JWKS_FILE or FINFLOW_IDENTITY_JWKS_URL, FINFLOW_IDENTITY_ISSUER, FINFLOW_IDENTITY_AUDIENCE.
 * None set: undefined (then every gateway decision is refused as unverifiable). Half set: an error naming what is missing.
 */
export function identityConfigFromEnv(env: NodeJS.ProcessEnv = process.env): IdentityProofConfig | undefined {
  const file = env.FINFLOW_IDENTITY_JWKS_FILE?.trim();
  const url = env.FINFLOW_IDENTITY_JWKS_URL?.trim();
  const issuer = env.FINFLOW_IDENTITY_ISSUER?.trim();
  const audience = env.FINFLOW_IDENTITY_AUDIENCE?.trim();
  if (!file && !url && !issuer && !audience) return undefined;
  const missing = [
    ...(!file && !url ? ['FINFLOW_IDENTITY_JWKS_FILE or FINFLOW_IDENTITY_JWKS_URL'] : []),
    ...(!issuer ? ['FINFLOW_IDENTITY_ISSUER'] : []),
    ...(!audience ? ['FINFLOW_IDENTITY_AUDIENCE'] : []),
  ];
  if (missing.length)
    throw new Error(`the identity provider that proves gateway decisions needs ${missing.join(', ')} as well`);
  let keys: JSONWebKeySet | JWTVerifyGetKey;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`FINFLOW_IDENTITY_JWKS_FILE ${file}: ${(err as Error).message}`);
    }
    if (!parsed || typeof parsed !== 'object' || !Array.isArray((parsed as JSONWebKeySet).keys))
      throw new Error(`FINFLOW_IDENTITY_JWKS_FILE ${file}: not a JWKS (an object with a "keys" array)`);
    keys = parsed as JSONWebKeySet;
  } else {
    let u: URL;
    try {
      u = new URL(url!);
    } catch {
      throw new Error(`FINFLOW_IDENTITY_JWKS_URL is not a URL: ${url}`);
    }
    keys = createRemoteJWKSet(u);
  }
  return { keys, issuer: issuer!, audience: audience! };
}

/**
 * Checks the identity provider's token a gateway decision carries for `personId`, at `now` (the workflow's time).
 * Never throws for a bad proof: the answer says why.
 */
export async function verifyIdentityProof(
  proof: unknown,
  personId: string,
  config: IdentityProofConfig | undefined,
  opts: { now?: Date; clockToleranceSeconds?: number } = {},
): Promise<IdentityProofCheck> {
  if (!config)
    return {
      ok: false,
      reason: 'identity_proof_unverifiable',
      message:
        'this worker has no identity provider to check the gateway against, so no gateway decision counts ' +
        '(set FINFLOW_IDENTITY_JWKS_FILE or FINFLOW_IDENTITY_JWKS_URL, FINFLOW_IDENTITY_ISSUER and FINFLOW_IDENTITY_AUDIENCE as for the gateway)',
    };
  if (proof === undefined)
    return {
      ok: false,
      reason: 'identity_proof_missing',
      message: `the gateway signed for ${personId} without the identity provider's token for them (claim "${IDENTITY_PROOF_CLAIM}"): a gateway key alone does not prove who decided`,
    };
  const invalid = (message: string): IdentityProofCheck => ({
    ok: false,
    reason: 'identity_proof_invalid',
    message: `the identity provider's token in the decision does not prove ${personId}: ${message}`,
  });
  if (typeof proof !== 'string' || proof.length > MAX_PROOF_CHARS || proof.split('.').length !== 3)
    return invalid(`not a compact JWS of at most ${MAX_PROOF_CHARS} characters`);
  try {
    const typ = decodeProtectedHeader(proof).typ;
    if (typeof typ === 'string' && typ.startsWith('finflow-'))
      return invalid(`a ${typ} token is finflow's own, not the provider's`);
  } catch (err) {
    return invalid(`unreadable header (${(err as Error).message})`);
  }
  const keys = typeof config.keys === 'function' ? config.keys : resolverFor(config.keys);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(proof, keys, {
      algorithms: config.algorithms ?? ['EdDSA', 'ES256', 'RS256'],
      issuer: config.issuer,
      audience: config.audience,
      currentDate: opts.now,
      clockTolerance: opts.clockToleranceSeconds ?? config.clockToleranceSeconds ?? 0,
      requiredClaims: ['exp'],
    }));
  } catch (err) {
    const f = failureOf(err);
    return invalid(`${f.reason} (${f.message})`);
  }
  const userClaim = config.userClaim ?? 'sub';
  const subject = payload[userClaim];
  if (typeof subject !== 'string' || subject === '') return invalid(`it has no "${userClaim}" claim naming the user`);
  if (subject !== personId)
    return {
      ok: false,
      reason: 'identity_proof_of_another_person',
      message: `the gateway signed for ${personId}, but the identity provider's token it carries proves ${subject.slice(0, 256)}`,
    };
  const tokenId =
    typeof payload.jti === 'string' && payload.jti.length > 0 && payload.jti.length <= 256
      ? `jti:${payload.jti}`
      : `sha256:${createHash('sha256').update(proof).digest('hex')}`;
  return {
    ok: true,
    proof: { issuer: String(payload.iss), subject, tokenId, expiresAt: isoSeconds(payload.exp!) },
  };
}
