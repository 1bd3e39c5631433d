// The user key directory on disk (issue 18), and how a worker judges a person's token with it.
//
// The directory is one JSON file (domain/approval/person-keys.ts gives its shape): every person's public signing
// key, by kid, with its validity window and its revocation. `finflow keys user add|revoke|list` keeps it; workers
// name it with FINFLOW_USER_KEYS_FILE and re-read it when it changes, so a revocation counts without a restart.
//
// With a directory configured, a token counts only when
//   - its key is a person's key of the directory, that person is the one the token names (sub), the key was valid
//     when the token was signed (iat) and is not revoked; or
//   - its key is one of the worker's other keys (FINFLOW_APPROVAL_JWKS_FILE) and its issuer is the gateway's:
//     the gateway proved the person through the identity provider before it signed.
// A CLI token (issuer finflow-cli) signed with any key that is not the signer's own is refused: nobody's key
// signs for somebody else. Without a directory, every CLI token is refused (the worker trusts no CLI key it was not
// given) and only the gateway's tokens count.
import { constants, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { decodeJwt, decodeProtectedHeader, type JSONWebKeySet, type JWK } from 'jose';
import type { TokenFailureReason } from '../../domain/approval/decision';
import {
  addUserKey,
  emptyUserKeyDirectory,
  judgePersonKey,
  parseUserKeyDirectory,
  revokeUserKey,
  UserKeyDirectoryError,
  type UserKeyDirectory,
  type UserKeyRecord,
} from '../../domain/approval/person-keys';
import { GATEWAY_ISSUER } from './keys';
import { generateApprovalKeyPair, isoSeconds, type ApprovalAlgorithm } from './signing';

export { UserKeyDirectoryError } from '../../domain/approval/person-keys';

/** Where a worker finds the directory, read again whenever the file changes. */
export interface UserKeySource {
  /** For messages: the file, or "inline". */
  where: string;
  directory(): UserKeyDirectory;
}

function parseText(text: string, where: string): UserKeyDirectory {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UserKeyDirectoryError(`${where}: not JSON (${(err as Error).message})`);
  }
  return parseUserKeyDirectory(value, where);
}

/** A directory held in memory (tests, the library). */
export function staticUserKeys(dir: UserKeyDirectory, where = 'user key directory'): UserKeySource {
  const parsed = parseUserKeyDirectory(dir, where);
  return { where, directory: () => parsed };
}

/** The directory in `path`, read now (a missing or broken file stops the worker) and again after every change. */
export function userKeysFromFile(path: string): UserKeySource {
  const where = `user key directory ${path}`;
  const load = (): { dir: UserKeyDirectory; stamp: string } => {
    let text: string;
    let stamp: string;
    try {
      const st = statSync(path);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new UserKeyDirectoryError(`${where}: ${(err as Error).message}`);
    }
    return { dir: parseText(text, where), stamp };
  };
  let current = load();
  return {
    where,
    directory() {
      let stamp: string;
      try {
        const st = statSync(path);
        stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
      } catch (err) {
        throw new UserKeyDirectoryError(`${where}: ${(err as Error).message}`);
      }
      if (stamp !== current.stamp) current = load();
      return current.dir;
    },
  };
}

// ---------------------------------------------------------------- keeping the file (the CLI)

export async function readUserKeyDirectoryFile(path: string, opts: { missingIsEmpty?: boolean } = {}) {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (opts.missingIsEmpty && (err as NodeJS.ErrnoException).code === 'ENOENT') return emptyUserKeyDirectory();
    throw new UserKeyDirectoryError(`user key directory ${path}: ${(err as Error).message}`);
  }
  return parseText(text, `user key directory ${path}`);
}

/** Replaces the file whole (write beside it, then rename), so a reader never sees half a directory. */
export async function writeUserKeyDirectoryFile(path: string, dir: UserKeyDirectory): Promise<void> {
  const checked = parseUserKeyDirectory(dir, `user key directory ${path}`);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, `${JSON.stringify(checked, null, 2)}\n`, { mode: 0o644 });
  await rename(tmp, path);
}

export interface AddedUserKey {
  record: UserKeyRecord;
  privateKeyFile: string;
}

/**
 * Makes a key pair for `personId`: the private JWK goes to `privateKeyFile` (mode 0600, never overwritten), the
 * public one into the directory with its window. The person keeps the private file; nobody else needs it.
 */
export async function addUserKeyToFile(
  path: string,
  opts: {
    personId: string;
    addedBy: string;
    privateKeyFile?: string;
    validFrom?: string;
    validUntil?: string;
    alg?: ApprovalAlgorithm;
    now?: Date;
  },
): Promise<AddedUserKey> {
  const now = opts.now ?? new Date();
  const before = await readUserKeyDirectoryFile(path, { missingIsEmpty: true });
  const pair = await generateApprovalKeyPair(opts.alg ?? 'EdDSA');
  const record: UserKeyRecord = {
    kid: pair.kid,
    personId: opts.personId,
    publicJwk: pair.publicJwk as UserKeyRecord['publicJwk'],
    validFrom: opts.validFrom ?? now.toISOString(),
    ...(opts.validUntil ? { validUntil: opts.validUntil } : {}),
    addedAt: now.toISOString(),
    addedBy: opts.addedBy,
  };
  const after = addUserKey(before, record);
  const privateKeyFile =
    opts.privateKeyFile ?? join(dirname(path), 'users', `${opts.personId}.${pair.kid.slice(0, 8)}.private.jwk.json`);
  await mkdir(dirname(privateKeyFile), { recursive: true });
  const fh = await open(privateKeyFile, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600).catch(
    (err: NodeJS.ErrnoException) => {
      throw new UserKeyDirectoryError(
        err.code === 'EEXIST'
          ? `${privateKeyFile} already exists: not overwritten (remove it, or name another --out)`
          : `${privateKeyFile}: ${err.message}`,
      );
    },
  );
  try {
    await fh.writeFile(`${JSON.stringify(pair.privateJwk, null, 2)}\n`);
  } finally {
    await fh.close();
  }
  await chmod(privateKeyFile, 0o600);
  try {
    await writeUserKeyDirectoryFile(path, after);
  } catch (err) {
    await unlink(privateKeyFile).catch(() => undefined);
    throw err;
  }
  return { record, privateKeyFile };
}

export async function revokeUserKeyInFile(
  path: string,
  r: { kid: string; by: string; reason: string; now?: Date },
): Promise<UserKeyRecord> {
  const after = revokeUserKey(await readUserKeyDirectoryFile(path), {
    kid: r.kid,
    by: r.by,
    reason: r.reason,
    at: (r.now ?? new Date()).toISOString(),
  });
  await writeUserKeyDirectoryFile(path, after);
  return after.keys.find((k) => k.kid === r.kid) as UserKeyRecord;
}

// ---------------------------------------------------------------- judging a token (the worker)

export interface PersonKeyTrust {
  /** The worker's other keys (the gateway's), FINFLOW_APPROVAL_JWKS_FILE. */
  keys?: JSONWebKeySet;
  userKeys?: UserKeySource;
  /** Issuers whose tokens may be signed by a key outside the directory (default the gateway's). */
  gatewayIssuers?: string[];
}

const combined = new WeakMap<UserKeyDirectory, { base: JSONWebKeySet | undefined; set: JSONWebKeySet }>();

/** The keys a token's signature is checked against: every person's key (revoked ones too, to say why) and the gateway's. */
export function personVerificationKeys(dir: UserKeyDirectory, base: JSONWebKeySet | undefined): JSONWebKeySet {
  const hit = combined.get(dir);
  if (hit && hit.base === base) return hit.set;
  const people = new Set(dir.keys.map((k) => k.kid));
  const set: JSONWebKeySet = {
    keys: [
      ...(base?.keys ?? []).filter((k) => !people.has(k.kid as string)),
      ...dir.keys.map((k) => ({ ...k.publicJwk }) as JWK),
    ],
  };
  combined.set(dir, { base, set });
  return set;
}

/**
 * Why a token whose signature verified may still not count under the directory: its key is not the named
 * person's own (or not valid or revoked), or it is not a person's key and the token is not the gateway's.
 */
export function personKeyProblem(
  token: string,
  dir: UserKeyDirectory,
  opts: { gatewayIssuers?: string[]; now?: Date },
): { reason: TokenFailureReason; message: string } | undefined {
  const { kid } = decodeProtectedHeader(token);
  const { iss, sub, iat } = decodeJwt(token);
  const gateways = opts.gatewayIssuers ?? [GATEWAY_ISSUER];
  const isPersonKey = dir.keys.some((k) => k.kid === kid);
  if (!isPersonKey) {
    if (typeof iss === 'string' && gateways.includes(iss)) return undefined;
    return {
      reason: 'key_not_registered',
      message:
        `a token of ${String(iss)} counts only when signed with the signer's own key from the user key directory ` +
        `(finflow keys user add), and key ${String(kid)} is not a person's key`,
    };
  }
  if (typeof iss === 'string' && gateways.includes(iss))
    return {
      reason: 'wrong_issuer',
      message: `key ${String(kid)} is a person's key: it cannot sign as the gateway (${iss})`,
    };
  const j = judgePersonKey(dir, {
    kid: kid as string,
    personId: String(sub),
    signedAt: isoSeconds(iat as number),
    now: (opts.now ?? new Date()).toISOString(),
  });
  return j.ok ? undefined : { reason: j.reason, message: j.message };
}

/**
 * Verifies a person's token with `verify` under the trust configured: without a directory, as before (the key set
 * alone); with one, against the people's keys and the gateway's, then bound to the person it names.
 */
export async function verifyWithPersonKeys<T extends { ok: boolean }>(
  token: string,
  trust: PersonKeyTrust,
  now: Date | undefined,
  verify: (keys: JSONWebKeySet) => Promise<T>,
  refuse: (reason: TokenFailureReason, message: string) => T,
): Promise<T> {
  if (!trust.userKeys) {
    if (!trust.keys) return refuse('unknown_key', NO_KEYS);
    // No directory: the worker's keys are the gateway's, and a person signs through the CLI with no key it was
    // given. A CLI token signed with a gateway key would let that key's holder sign as anybody (the trust before
    // issue 18), so it is refused, saying how to give the worker people's keys.
    const r = await verify(trust.keys);
    if (!r.ok) return r;
    const { iss } = decodeJwt(token);
    const gateways = trust.gatewayIssuers ?? [GATEWAY_ISSUER];
    return typeof iss === 'string' && gateways.includes(iss) ? r : refuse('key_not_registered', noDirectory(iss));
  }
  const dir = trust.userKeys.directory();
  const keys = personVerificationKeys(dir, trust.keys);
  if (!keys.keys.length)
    return refuse('unknown_key', `no key can verify it: ${trust.userKeys.where} is empty and no gateway key is set`);
  const r = await verify(keys);
  if (!r.ok) return r;
  const problem = personKeyProblem(token, dir, { gatewayIssuers: trust.gatewayIssuers, now });
  return problem ? refuse(problem.reason, problem.message) : r;
}

/** Why a CLI-signed token is refused by a worker without a user key directory, and what to do about it. */
export function noDirectory(iss: unknown): string {
  return (
    `this worker trusts no ${String(iss)} key it was not given: a person's own key counts only from a user key ` +
    `directory (register it with \`finflow keys user add <person>\` and start the worker with ` +
    `FINFLOW_USER_KEYS_FILE); the approval key set (FINFLOW_APPROVAL_JWKS_FILE) signs for the gateway only`
  );
}

export const NO_KEYS =
  'this worker has no approval verification keys (set FINFLOW_APPROVAL_JWKS_FILE or FINFLOW_USER_KEYS_FILE)';
