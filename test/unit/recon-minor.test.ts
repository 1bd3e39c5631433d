import {
  MinorSum,
  absMinor,
  addMinor,
  formatMinor,
  limitToMinor,
  percentToFraction,
  subMinor,
  withinFraction,
} from '../../domain/recon/minor';

const MAX = Number.MAX_SAFE_INTEGER;

describe('minor-unit arithmetic', () => {
  it('stays a number while exact and becomes a bigint beyond 2^53', () => {
    expect(addMinor(2, 3)).toBe(5);
    expect(addMinor(MAX, 1)).toBe(BigInt(MAX) + 1n);
    expect(addMinor(10n, 5)).toBe(15n);
    expect(subMinor(2, 3)).toBe(-1);
    expect(subMinor(-MAX, MAX)).toBe(-2n * BigInt(MAX));
    expect(subMinor(10n, 5)).toBe(5n);
    expect(absMinor(-5)).toBe(5);
    expect(absMinor(-5n)).toBe(5n);
    expect(absMinor(5n)).toBe(5n);
  });

  it('sums exactly past 2^53 and returns to a number when the total is safe again', () => {
    const s = new MinorSum();
    s.add(MAX);
    s.add(MAX);
    s.add(3);
    expect(s.value()).toBe(2n * BigInt(MAX) + 3n);
    s.add(-MAX);
    s.add(-MAX);
    expect(s.value()).toBe(3);
    const t = new MinorSum();
    t.addMinor(-3n * BigInt(MAX));
    t.addMinor(7);
    expect(t.value()).toBe(-3n * BigInt(MAX) + 7n);
    expect(new MinorSum().value()).toBe(0);
  });

  it('formats minor units as fixed-point strings at any scale', () => {
    expect(formatMinor(-5, 2)).toBe('-0.05');
    expect(formatMinor(12345, 2)).toBe('123.45');
    expect(formatMinor(7, 0)).toBe('7');
    expect(formatMinor(1500, 3)).toBe('1.500');
    expect(formatMinor(-(2n ** 60n), 2)).toBe('-11529215046068469.76');
  });

  it('turns limits into minor units rounding down, capped at the safe range', () => {
    expect(limitToMinor('0.05', 2)).toBe(5);
    expect(limitToMinor('0.009', 2)).toBe(0);
    expect(limitToMinor('0.5', 0)).toBe(0);
    expect(limitToMinor('99999999999999999999', 2)).toBe(MAX);
  });

  it('compares against a percentage exactly', () => {
    expect(percentToFraction('0.5')).toEqual({ num: 1n, den: 200n });
    const { num, den } = percentToFraction('1');
    expect(withinFraction(10000, 10100, num, den)).toBe(true);
    expect(withinFraction(10101, 10000, num, den)).toBe(true);
    expect(withinFraction(10102, 10000, num, den)).toBe(false);
    expect(withinFraction(-10000, -9900, num, den)).toBe(true);
    expect(withinFraction(-9900, -10000, num, den)).toBe(true);
    expect(withinFraction(MAX, MAX - 1, num, den)).toBe(true);
  });
});
