// Joinable tokens: a keyed hash (HMAC-SHA256) of a sensitive value, so two datasets can be matched on, say, an
// account number without either side holding it in clear. Tokens are prefixed with the key id: a token is only
// comparable with tokens of the same key, and after a rotation both sides must be tokenised with one key id.
// An unkeyed hash would not do: account numbers are few enough to hash them all and reverse the table.
import { createHmac } from 'node:crypto';
import { deriveKey, type KeyProvider } from './key-ring';

const TOKEN_PURPOSE = 'finflow/token/v1';

export interface Tokenizer {
  readonly keyId: string;
  /** `<keyId>:<base64url HMAC>`; equal inputs give equal tokens. */
  token(value: string): string;
}

/**
 * A tokenizer bound to one key for a whole run (default: the current key), so every token of the run is
 * comparable. `normalize` makes formatting differences irrelevant (e.g. IBAN spaces and case).
 */
export async function createTokenizer(
  keys: KeyProvider,
  opts: { keyId?: string; normalize?: (value: string) => string } = {},
): Promise<Tokenizer> {
  const master = opts.keyId === undefined ? await keys.getCurrentKey() : await keys.getKey(opts.keyId);
  const key = deriveKey(master, TOKEN_PURPOSE);
  const normalize = opts.normalize ?? ((v: string) => v);
  return {
    keyId: master.id,
    token(value: string): string {
      if (typeof value !== 'string') throw new TypeError('only strings are tokenised');
      return `${master.id}:${createHmac('sha256', key).update(normalize(value), 'utf8').digest('base64url')}`;
    },
  };
}

/** IBAN / account number normalisation: no whitespace, upper case. */
export function normalizeAccountNumber(value: string): string {
  return value.replace(/\s+/g, '').toUpperCase();
}
