// Key files of approval signing. The signer (the approval gateway, or an operator's `finflow approve`) holds a
// private JWK in a file only its owner can read; verifiers (workers) hold a JWKS with the public halves of every
// key they accept. Rotation: add the new public key to the JWKS, switch the signer, drop the old public key once
// its last token has expired (15 minutes by default).
import { constants } from 'node:fs';
import { chmod, mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JSONWebKeySet, JWK } from 'jose';
import {
  ApprovalKeyError,
  approvalKeySet,
  assertApprovalKeySet,
  generateApprovalKeyPair,
  importApprovalSigningKey,
  type ApprovalAlgorithm,
  type ApprovalSigningKey,
} from './signing';

/** Who verifiers expect on approval tokens, and who signs them. */
export const APPROVAL_AUDIENCE = 'finflow-workflows';
export const GATEWAY_ISSUER = 'finflow-approval-gateway';
/** Tokens an authenticated operator signs with `finflow approve --key-file`. */
export const CLI_ISSUER = 'finflow-cli';

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ApprovalKeyError(`${what} ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApprovalKeyError(`${what} ${path}: not JSON (${(err as Error).message})`);
  }
}

/** A private signing key from a JWK file that no one but its owner may read. */
export async function readSigningKeyFile(path: string): Promise<ApprovalSigningKey> {
  const what = 'approval signing key file';
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (err) {
    throw new ApprovalKeyError(`${what} ${path}: ${(err as Error).message}`);
  }
  // Whoever can read the file can sign any approval: like an ssh key, refuse it when others can.
  if (mode & 0o077)
    throw new ApprovalKeyError(
      `${what} ${path} is readable by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`,
    );
  const jwk = await readJson(path, what);
  if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk))
    throw new ApprovalKeyError(`${what} ${path}: expected one JWK object`);
  try {
    return await importApprovalSigningKey(jwk as JWK);
  } catch (err) {
    throw new ApprovalKeyError(`${what} ${path}: ${(err as Error).message}`);
  }
}

/** The public keys verifiers accept, from a JWKS file ({"keys": [...]}) or inline JSON. */
export async function readApprovalKeySet(path: string): Promise<JSONWebKeySet> {
  const jwks = (await readJson(path, 'approval key set file')) as JSONWebKeySet;
  try {
    assertApprovalKeySet(jwks);
  } catch (err) {
    throw new ApprovalKeyError(`approval key set file ${path}: ${(err as Error).message}`);
  }
  return jwks;
}

export function parseApprovalKeySet(json: string, where: string): JSONWebKeySet {
  let jwks: JSONWebKeySet;
  try {
    jwks = JSON.parse(json) as JSONWebKeySet;
  } catch (err) {
    throw new ApprovalKeyError(`${where}: not JSON (${(err as Error).message})`);
  }
  try {
    assertApprovalKeySet(jwks);
  } catch (err) {
    throw new ApprovalKeyError(`${where}: ${(err as Error).message}`);
  }
  return jwks;
}

export interface CreatedKeyFiles {
  kid: string;
  signingKeyFile: string;
  jwksFile: string;
}

/**
 * Makes a new signing key in `dir`: `<name>.private.jwk.json` (0600, never overwritten) and adds its public half
 * to `approval-jwks.json` there (created when absent), which workers read as FINFLOW_APPROVAL_JWKS_FILE.
 */
export async function createApprovalKeyFiles(
  dir: string,
  opts: { name?: string; alg?: ApprovalAlgorithm } = {},
): Promise<CreatedKeyFiles> {
  await mkdir(dir, { recursive: true });
  const pair = await generateApprovalKeyPair(opts.alg ?? 'EdDSA');
  const signingKeyFile = join(dir, `${opts.name ?? 'approval-signing'}.private.jwk.json`);
  const jwksFile = join(dir, 'approval-jwks.json');
  // O_EXCL: an existing key is someone's identity; replacing it silently would orphan every token it signed.
  const fh = await open(signingKeyFile, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600).catch(
    (err: NodeJS.ErrnoException) => {
      throw new ApprovalKeyError(
        err.code === 'EEXIST'
          ? `${signingKeyFile} already exists: not overwritten (remove it, or choose another --name)`
          : `${signingKeyFile}: ${err.message}`,
      );
    },
  );
  try {
    await fh.writeFile(`${JSON.stringify(pair.privateJwk, null, 2)}\n`);
  } finally {
    await fh.close();
  }
  await chmod(signingKeyFile, 0o600);
  let existing: JWK[] = [];
  try {
    existing = (await readApprovalKeySet(jwksFile)).keys;
  } catch (err) {
    if (!/ENOENT/.test((err as Error).message)) throw err;
  }
  await writeFile(jwksFile, `${JSON.stringify(approvalKeySet([...existing, pair]), null, 2)}\n`, { mode: 0o644 });
  return { kid: pair.kid, signingKeyFile, jwksFile };
}
