// Ed25519 keys for the compliance trail: the evidence manifest signature and the audit ledger's checkpoints.
// Ed25519 because its signatures are deterministic (RFC 8032): the same manifest signed twice gives the same
// bytes, so a resumed package is identical to an uninterrupted one. Keys are PEM (PKCS#8 private, SPKI public),
// from the environment or a file; tests generate a pair.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** First 16 hex digits of SHA-256 over the public key's DER: names the key without revealing anything. */
  keyId: string;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

function requireEd25519(key: KeyObject, where: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`${where}: an Ed25519 key is required, this is ${key.asymmetricKeyType ?? 'not asymmetric'}`);
  return key;
}

export function signingKeyFromPem(pem: string, where = 'signing key'): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`${where}: not a PEM private key (${(err as Error).message})`);
  }
  requireEd25519(privateKey, where);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

export function publicKeyFromPem(pem: string, where = 'public key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new Error(`${where}: not a PEM public key (${(err as Error).message})`);
  }
  return requireEd25519(key, where);
}

export function readPublicKeyFile(path: string): KeyObject {
  return publicKeyFromPem(readFileSync(path, 'utf8'), path);
}

export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

export function exportSigningKey(key: SigningKey): { privateKeyPem: string; publicKeyPem: string } {
  return {
    privateKeyPem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: key.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * The signing key from `FINFLOW_SIGNING_KEY` (PEM text) or `FINFLOW_SIGNING_KEY_FILE` (a path to PEM), or
 * undefined when neither is set. Both set is refused: which one wins would be a guess.
 */
export function signingKeyFromEnv(env: NodeJS.ProcessEnv = process.env): SigningKey | undefined {
  const pem = env.FINFLOW_SIGNING_KEY;
  const file = env.FINFLOW_SIGNING_KEY_FILE;
  if (pem && file) throw new Error('set FINFLOW_SIGNING_KEY or FINFLOW_SIGNING_KEY_FILE, not both');
  if (pem) return signingKeyFromPem(pem, 'FINFLOW_SIGNING_KEY');
  if (file) return signingKeyFromPem(readFileSync(file, 'utf8'), `FINFLOW_SIGNING_KEY_FILE ${file}`);
  return undefined;
}

export function signBytes(key: SigningKey, data: Buffer | string): string {
  return sign(null, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, key.privateKey).toString('base64');
}

export function verifyBytes(publicKey: KeyObject, data: Buffer | string, signatureB64: string): boolean {
  const sig = Buffer.from(signatureB64, 'base64');
  if (sig.length !== 64) return false;
  return verify(null, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, publicKey, sig);
}
