import {
  addUserKey,
  emptyUserKeyDirectory,
  judgePersonKey,
  parseUserKeyDirectory,
  revokeUserKey,
  USER_KEYS_SCHEMA,
  UserKeyDirectoryError,
  type UserKeyRecord,
} from '../../domain/approval/person-keys';

const jwk = (kid: string) => ({ kty: 'OKP', crv: 'Ed25519', x: `x-${kid}`, kid, alg: 'EdDSA', use: 'sig' });
const record = (kid: string, personId: string, extra: Partial<UserKeyRecord> = {}): UserKeyRecord => ({
  kid,
  personId,
  publicJwk: jwk(kid) as UserKeyRecord['publicJwk'],
  validFrom: '2026-11-01T00:00:00.000Z',
  addedAt: '2026-11-01T00:00:00.000Z',
  addedBy: 'ivy.admin',
  ...extra,
});
const withKeys = (...keys: UserKeyRecord[]) => keys.reduce(addUserKey, emptyUserKeyDirectory());
const NOW = '2026-11-05T12:00:00.000Z';

describe('user key directory', () => {
  it("accepts a token whose key is the named person's own, valid and unrevoked at signing", () => {
    const dir = withKeys(record('k-ann', 'ann', { validUntil: '2026-12-01T00:00:00Z' }));
    const j = judgePersonKey(dir, { kid: 'k-ann', personId: 'ann', signedAt: '2026-11-05T11:59:00Z', now: NOW });
    expect(j).toEqual({ ok: true, record: dir.keys[0] });
    expect(parseUserKeyDirectory(JSON.parse(JSON.stringify(dir)), 'f')).toEqual({
      schema: USER_KEYS_SCHEMA,
      version: 1,
      keys: dir.keys,
    });
  });

  it("refuses ann's key signing as maya, naming whose key it is", () => {
    const dir = withKeys(record('k-ann', 'ann'), record('k-maya', 'maya'));
    expect(judgePersonKey(dir, { kid: 'k-ann', personId: 'maya', signedAt: NOW, now: NOW })).toEqual({
      ok: false,
      reason: 'key_of_another_person',
      message: 'key k-ann belongs to ann, and the token says it is signed by maya',
    });
  });

  it('refuses a key that is not in the directory', () => {
    const j = judgePersonKey(withKeys(record('k-ann', 'ann')), {
      kid: 'shared',
      personId: 'ann',
      signedAt: NOW,
      now: NOW,
    });
    expect(j).toMatchObject({ ok: false, reason: 'key_not_registered' });
  });

  it('refuses a revoked key, also for a token it signed before the revocation that arrives after it', () => {
    const revoked = revokeUserKey(withKeys(record('k-ann', 'ann')), {
      kid: 'k-ann',
      at: '2026-11-05T10:00:00.000Z',
      by: 'ivy.admin',
      reason: ' laptop stolen ',
    });
    expect(revoked.keys[0]).toMatchObject({ revokedBy: 'ivy.admin', revocationReason: 'laptop stolen' });
    const early = { kid: 'k-ann', personId: 'ann', signedAt: '2026-11-05T09:00:00Z' };
    expect(judgePersonKey(revoked, { ...early, now: NOW })).toEqual({
      ok: false,
      reason: 'key_revoked',
      message: 'key k-ann of ann was revoked at 2026-11-05T10:00:00.000Z by ivy.admin: laptop stolen',
    });
    // Judged before the revocation was made (a replay of an earlier answer), the token still counted.
    expect(judgePersonKey(revoked, { ...early, now: '2026-11-05T09:30:00Z' }).ok).toBe(true);
  });

  it('refuses a key outside its validity window: before validFrom and from validUntil on', () => {
    const dir = withKeys(record('k-ann', 'ann', { validUntil: '2026-11-05T00:00:00.000Z' }));
    const at = (signedAt: string) => judgePersonKey(dir, { kid: 'k-ann', personId: 'ann', signedAt, now: NOW });
    expect(at('2026-11-05T00:00:00Z')).toEqual({
      ok: false,
      reason: 'key_expired',
      message: 'key k-ann of ann expired at 2026-11-05T00:00:00.000Z; the token was signed at 2026-11-05T00:00:00Z',
    });
    expect(at('2026-10-31T23:59:59Z')).toMatchObject({ ok: false, reason: 'key_not_yet_valid' });
    expect(at('2026-11-04T23:59:59Z').ok).toBe(true);
  });

  it('accepts a token signed in the very second its key became valid (a token says when to the second only)', () => {
    const dir = withKeys(record('k-ann', 'ann', { validFrom: '2026-11-02T12:00:00.500Z' }));
    const at = (signedAt: string) => judgePersonKey(dir, { kid: 'k-ann', personId: 'ann', signedAt, now: NOW });
    expect(at('2026-11-02T12:00:00Z').ok).toBe(true);
    expect(at('2026-11-02T11:59:59Z')).toMatchObject({ ok: false, reason: 'key_not_yet_valid' });
  });

  it('refuses a reused key id, an unknown or already revoked key, and a revocation without a reason', () => {
    const dir = withKeys(record('k-ann', 'ann'));
    expect(() => addUserKey(dir, record('k-ann', 'bob'))).toThrow(/kid k-ann is already in the directory/);
    expect(() => revokeUserKey(dir, { kid: 'nope', at: NOW, by: 'ivy', reason: 'x' })).toThrow(/no key nope/);
    expect(() => revokeUserKey(dir, { kid: 'k-ann', at: NOW, by: 'ivy', reason: '  ' })).toThrow(/needs a reason/);
    const once = revokeUserKey(dir, { kid: 'k-ann', at: NOW, by: 'ivy', reason: 'left' });
    expect(() => revokeUserKey(once, { kid: 'k-ann', at: NOW, by: 'ivy', reason: 'again' })).toThrow(
      /already revoked at 2026-11-05T12:00:00.000Z by ivy/,
    );
  });

  it('refuses a malformed directory, naming the field', () => {
    const bad = (value: unknown) => () => parseUserKeyDirectory(value, 'keys.json');
    expect(
      bad({ schema: 'finflow.user-keys', version: 1, keys: [{ ...record('k', 'ann'), publicJwk: { kty: 'RSA' } }] }),
    ).toThrow(/^keys\.json: keys\.0\.publicJwk\.kty: /);
    expect(bad([])).toThrow(/keys\.json: \(whole file\): /);
    expect(bad({ ...emptyUserKeyDirectory(), keys: [record('k', 'ann', { personId: 'two words' })] })).toThrow(
      /keys\.0\.personId: must not contain spaces/,
    );
    const priv = { ...record('k', 'ann'), publicJwk: { ...jwk('k'), d: 'secret' } };
    expect(bad({ ...emptyUserKeyDirectory(), keys: [priv] })).toThrow(/holds a private key/);
    expect(bad({ ...emptyUserKeyDirectory(), keys: [record('k', 'ann'), record('k', 'bob')] })).toThrow(
      /keys\.1: kid k appears twice/,
    );
    expect(bad({ ...emptyUserKeyDirectory(), keys: [{ ...record('k', 'ann'), publicJwk: jwk('other') }] })).toThrow(
      /publicJwk\.kid other is not the record's kid k/,
    );
    expect(
      bad({ ...emptyUserKeyDirectory(), keys: [record('k', 'ann', { validUntil: '2026-11-01T00:00:00.000Z' })] }),
    ).toThrow(/validUntil .* is not after validFrom/);
    expect(bad({ ...emptyUserKeyDirectory(), keys: [record('k', 'ann', { revokedAt: NOW })] })).toThrow(
      /a revocation names when \(revokedAt\), by whom \(revokedBy\) and why \(revocationReason\)/,
    );
    expect(bad({ ...emptyUserKeyDirectory(), keys: [record('k', 'ann', { addedAt: 'yesterday' })] })).toThrow(
      /keys\.0\.addedAt/,
    );
    expect(() => addUserKey(emptyUserKeyDirectory(), record('k', 'ann', { validFrom: 'soon' }))).toThrow(
      UserKeyDirectoryError,
    );
  });
});
