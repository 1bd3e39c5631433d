// The codec server with the same per-person identity as decisions (issue 18). A caller proves who they are either
// with their own signing key from the user key directory (FINFLOW_USER_KEYS_FILE: a short token of type
// finflow-codec+jwt, signed with `finflow keys user add`'s private key), or with the identity provider's token as
// before; either way the roles that decide what is masked are the person's roles in the user directory (the approval
// policy's users), never roles a token claims. A key of another person, a revoked or expired key, a person not in
// the directory: refused (401), and the codec server's access log records the refusal.
import { statSync } from 'node:fs';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { CLI_ISSUER } from '../activities/approval/keys';
import {
  checkSignedToken,
  signTokenClaims,
  type ApprovalSigningKey,
  type SignedApproval,
} from '../activities/approval/signing';
import {
  personKeyProblem,
  personVerificationKeys,
  userKeysFromFile,
  type UserKeySource,
} from '../activities/approval/user-keys';
import type { ApprovalPolicy } from '../domain/approval';
import { readPolicyFile } from './approval-gateway-server';
import { AuthenticationError, type VerifyCaller } from './codec-server';

/** The JWS type of a person's own codec token: never mistaken for a decision or an identity provider's token. */
export const CODEC_PERSON_TOKEN_TYPE = 'finflow-codec+jwt';
/** Who a person's codec token is for. */
export const CODEC_PERSON_AUDIENCE = 'finflow-codec';
/** A codec token lives minutes: it is a login, not a credential to keep. */
const MAX_CODEC_TOKEN_AGE_SECONDS = 600;

/** A person's codec token, signed with their own key (the CLI, or a person's tool, makes one per session). */
export function signCodecPersonToken(
  personId: string,
  key: ApprovalSigningKey,
  opts: { now?: Date; ttlSeconds?: number } = {},
): Promise<SignedApproval> {
  return signTokenClaims(
    key,
    { issuer: CLI_ISSUER, audience: CODEC_PERSON_AUDIENCE, now: opts.now, ttlSeconds: opts.ttlSeconds ?? 300 },
    CODEC_PERSON_TOKEN_TYPE,
    personId,
    {},
  );
}

export interface PersonCodecVerifierOptions {
  /** People's own keys. */
  userKeys: UserKeySource;
  /** The user directory: each person's roles (a function, so a changed file counts without a restart). */
  directory: () => Pick<ApprovalPolicy, 'users'>;
  /** The identity provider's verifier, for callers that bring its token (the Web UI); its roles are not used. */
  identity?: VerifyCaller;
  now?: () => Date;
}

/** A VerifyCaller whose callers are people of the directory, with the directory's roles. */
export function personCodecVerifier(opts: PersonCodecVerifierOptions): VerifyCaller {
  const rolesOf = (personId: string): string[] => {
    const user = opts.directory().users.find((u) => u.userId === personId);
    if (!user) throw new AuthenticationError(`${personId} is not in the user directory`);
    return [...user.roles];
  };
  return async (authorization) => {
    const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(authorization?.trim() ?? '');
    if (!m) throw new AuthenticationError('a Bearer token is required');
    const token = m[1];
    let typ: unknown;
    try {
      typ = decodeProtectedHeader(token).typ;
    } catch (err) {
      throw new AuthenticationError(`token refused: unreadable header (${(err as Error).message})`);
    }
    if (typ !== CODEC_PERSON_TOKEN_TYPE) {
      if (!opts.identity)
        throw new AuthenticationError(`token refused: sign in with your own key (a ${CODEC_PERSON_TOKEN_TYPE} token)`);
      const caller = await opts.identity(authorization);
      return { subject: caller.subject, roles: rolesOf(caller.subject) };
    }
    const now = opts.now?.() ?? new Date();
    const dir = opts.userKeys.directory();
    const keys = personVerificationKeys(dir, undefined);
    if (!keys.keys.length) throw new AuthenticationError(`token refused: ${opts.userKeys.where} holds no key`);
    const checked = await checkSignedToken(token, keys, CODEC_PERSON_TOKEN_TYPE, {
      issuer: CLI_ISSUER,
      audience: CODEC_PERSON_AUDIENCE,
      now,
      maxAgeSeconds: MAX_CODEC_TOKEN_AGE_SECONDS,
    });
    if (!checked.ok) throw new AuthenticationError(`token refused (${checked.reason}): ${checked.message}`);
    const problem = personKeyProblem(token, dir, { gatewayIssuers: [], now });
    if (problem) throw new AuthenticationError(`token refused (${problem.reason}): ${problem.message}`);
    const personId = String(decodeJwt(token).sub);
    return { subject: personId, roles: rolesOf(personId) };
  };
}

/**
 * The per-person verifier from the environment: FINFLOW_USER_KEYS_FILE (people's keys) and
 * FINFLOW_APPROVAL_POLICY_FILE (the user directory, as the gateway reads it), both re-read when they change.
 * Neither set: undefined (the identity provider's token and its roles, as before). One without the other: an error.
 */
export function personCodecVerifierFromEnv(
  env: NodeJS.ProcessEnv,
  identity: VerifyCaller | undefined,
): VerifyCaller | undefined {
  const keysFile = env.FINFLOW_USER_KEYS_FILE?.trim();
  const policyFile = env.FINFLOW_APPROVAL_POLICY_FILE?.trim();
  if (!keysFile && !policyFile) return undefined;
  if (!keysFile || !policyFile)
    throw new Error(
      `the codec server's per-person identity needs both FINFLOW_USER_KEYS_FILE (people's keys) and ` +
        `FINFLOW_APPROVAL_POLICY_FILE (their roles); ${keysFile ? 'FINFLOW_APPROVAL_POLICY_FILE' : 'FINFLOW_USER_KEYS_FILE'} is not set`,
    );
  let cached: { stamp: string; users: Pick<ApprovalPolicy, 'users'> } | undefined;
  const directory = (): Pick<ApprovalPolicy, 'users'> => {
    const st = statSync(policyFile);
    const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    if (cached?.stamp !== stamp) cached = { stamp, users: readPolicyFile(policyFile) };
    return cached.users;
  };
  directory();
  return personCodecVerifier({ userKeys: userKeysFromFile(keysFile), directory, ...(identity ? { identity } : {}) });
}
