import {
  Dec,
  format,
  fromMinor,
  isSafeInteger,
  minorToString,
  parseDecimal,
  parseMinor,
  round,
  sum,
  toMinor,
  currencyDecimals,
} from '../../domain/money';

describe('money', () => {
  it('parses decimal strings exactly, where a float would not be', () => {
    expect(parseDecimal('0.1').plus(parseDecimal('0.2')).toFixed()).toBe('0.3');
    expect(parseDecimal('-1234567890123456789.01').toFixed()).toBe('-1234567890123456789.01');
    expect(parseDecimal(' +12.50 ').toFixed(2)).toBe('12.50');
    expect(parseDecimal(10n).toFixed()).toBe('10');
  });

  it.each(['', 'abc', '1e5', '1,000.00', 'NaN', '12.3.4', '--1'])('refuses %j as an amount and says where', (bad) => {
    expect(() => parseDecimal(bad, 'row 7, field amount')).toThrow(/not a decimal amount.*row 7, field amount/);
  });

  it('rounds half-even by default and honours an explicit mode', () => {
    expect(format(round(new Dec('2.345'), 2))).toBe('2.34');
    expect(format(round(new Dec('2.355'), 2))).toBe('2.36');
    expect(format(round(new Dec('2.345'), 2, 'half_up'))).toBe('2.35');
    expect(format(round(new Dec('-2.345'), 2, 'floor'))).toBe('-2.35');
  });

  it('converts to minor units and back without loss, refusing silent truncation', () => {
    expect(toMinor(new Dec('12.34'), 2)).toBe(1234n);
    expect(toMinor(new Dec('-0.05'), 2)).toBe(-5n);
    expect(() => toMinor(new Dec('1.005'), 2)).toThrow(/more than 2 decimal places/);
    expect(toMinor(new Dec('1.005'), 2, 'half_even')).toBe(100n);
    expect(fromMinor(-12345n, 2).toFixed(2)).toBe('-123.45');
    expect(parseMinor('99999999999999999.99', 2)).toBe(9999999999999999999n);
  });

  it('renders minor units as fixed-point strings', () => {
    expect(minorToString(5n, 2)).toBe('0.05');
    expect(minorToString(-5n, 2)).toBe('-0.05');
    expect(minorToString(123456n, 3)).toBe('123.456');
    expect(minorToString(42n, 0)).toBe('42');
  });

  it('knows currencies with other than two decimals', () => {
    expect(currencyDecimals('JPY')).toBe(0);
    expect(currencyDecimals('kwd')).toBe(3);
    expect(currencyDecimals('EUR')).toBe(2);
  });
});

describe('money helpers for counts and totals', () => {
  it('tells safe integers from numbers that would lose units', () => {
    expect(isSafeInteger(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(isSafeInteger(Number.MAX_SAFE_INTEGER + 1)).toBe(false);
    expect(isSafeInteger(1.5)).toBe(false);
  });

  it('sums decimals exactly and formats to a fixed number of places', () => {
    expect(format(sum(['0.1', '0.2', '-0.3', '1000000000000000000.01'].map((s) => parseDecimal(s))))).toBe(
      '1000000000000000000.01',
    );
    expect(format(sum([]))).toBe('0');
    expect(format(parseDecimal('2.5'), 2)).toBe('2.50');
  });
});
