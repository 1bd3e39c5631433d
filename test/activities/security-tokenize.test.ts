import { KeyRing, generateMasterKey } from '../../activities/security/key-ring';
import { createTokenizer, normalizeAccountNumber } from '../../activities/security/tokenize';

const k1 = generateMasterKey('k1');
const k2 = generateMasterKey('k2');

describe('joinable tokens', () => {
  it('give equal tokens for equal values and different tokens for different values, prefixed with the key id', async () => {
    const t = await createTokenizer(new KeyRing([k1], 'k1'));
    expect(t.token('DE89370400440532013000')).toBe(t.token('DE89370400440532013000'));
    expect(t.token('DE89370400440532013000')).not.toBe(t.token('DE89370400440532013001'));
    expect(t.token('DE89370400440532013000')).toMatch(/^k1:[A-Za-z0-9_-]{43}$/);
    expect(t.token('DE89370400440532013000')).not.toContain('3000');
  });

  it('depend on the key, so someone without it cannot build a lookup table', async () => {
    const a = await createTokenizer(new KeyRing([k1], 'k1'));
    const b = await createTokenizer(new KeyRing([{ id: 'k1', key: generateMasterKey('x').key }], 'k1'));
    expect(a.token('DE89370400440532013000')).not.toBe(b.token('DE89370400440532013000'));
  });

  it('stay joinable across a rotation when both sides are tokenised with the same key id', async () => {
    const before = await createTokenizer(new KeyRing([k1], 'k1'));
    const rotated = new KeyRing([k1, k2], 'k2');
    const current = await createTokenizer(rotated);
    const pinned = await createTokenizer(rotated, { keyId: 'k1' });
    expect(current.keyId).toBe('k2');
    expect(current.token('X')).not.toBe(before.token('X'));
    expect(pinned.token('X')).toBe(before.token('X'));
  });

  it('ignore formatting when given a normaliser', async () => {
    const t = await createTokenizer(new KeyRing([k1], 'k1'), { normalize: normalizeAccountNumber });
    expect(t.token('de89 3704 0044 0532 0130 00')).toBe(t.token('DE89370400440532013000'));
    await expect(createTokenizer(new KeyRing([k1], 'k1'), { keyId: 'k9' })).rejects.toThrow(
      /unknown encryption key id/,
    );
  });
});
