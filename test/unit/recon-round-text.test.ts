import { Dec, type RoundingMode } from '../../domain/money';
import { FAST_ROUND_MAX_LENGTH, roundDecimalText } from '../../domain/recon/round-text';

const MODES: Record<RoundingMode, number> = {
  half_even: Dec.ROUND_HALF_EVEN,
  half_up: Dec.ROUND_HALF_UP,
  half_down: Dec.ROUND_HALF_DOWN,
  down: Dec.ROUND_DOWN,
  up: Dec.ROUND_UP,
  floor: Dec.ROUND_FLOOR,
  ceiling: Dec.ROUND_CEIL,
};

function viaDecimal(v: string, places: number, mode: RoundingMode): string {
  return new Dec(v).toDecimalPlaces(places, MODES[mode] as Parameters<Dec['toDecimalPlaces']>[1]).toFixed();
}

/** A deterministic generator, so a failure names an input that can be run again. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('rounding decimal text without Decimal', () => {
  it('gives what Decimal gives for every mode on ties, carries, signs, zeros and leading zeros', () => {
    const cases = [
      '0.005',
      '-0.005',
      '0.015',
      '-0.015',
      '0.0049',
      '-0.0049',
      '0.0051',
      '12.3050',
      '12.3150',
      '99.995',
      '-99.995',
      '9.9999',
      '-9.9999',
      '007.125',
      '+5.125',
      '-5.125',
      '.125',
      '-.125',
      '.5',
      '-.5',
      '1.5',
      '2.5',
      '0.0000',
      '-0.0000',
      '-0.0040',
      '123456789012.34567',
      '0.1234',
      '5.0001',
      '5.00001',
      '-5.00001',
    ];
    for (const v of cases)
      for (const mode of Object.keys(MODES) as RoundingMode[])
        for (const places of [0, 1, 2, 3])
          if (v.length - v.indexOf('.') - 1 > places)
            expect([v, places, mode, roundDecimalText(v, places, mode)]).toEqual([
              v,
              places,
              mode,
              viaDecimal(v, places, mode),
            ]);
  });

  it('agrees with Decimal on 20,000 random amounts in every mode', () => {
    const rnd = lcg(20261125);
    for (let n = 0; n < 20_000; n++) {
      const intLen = Math.floor(rnd() * 12);
      const fracLen = 1 + Math.floor(rnd() * 8);
      let digits = '';
      for (let k = 0; k < intLen + fracLen; k++) digits += String(Math.floor(rnd() * 10));
      const sign = rnd() < 0.4 ? '-' : rnd() < 0.1 ? '+' : '';
      const v = `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
      const places = Math.floor(rnd() * fracLen);
      const mode = (Object.keys(MODES) as RoundingMode[])[n % 7];
      const fast = roundDecimalText(v, places, mode);
      if (fast !== viaDecimal(v, places, mode))
        throw new Error(`${v} to ${places} places ${mode}: ${fast} vs ${viaDecimal(v, places, mode)}`);
    }
  });

  it('leaves to Decimal what it does not handle: no fraction to drop, long inputs, other forms', () => {
    expect(roundDecimalText('12.34', 2, 'half_even')).toBeUndefined();
    expect(roundDecimalText('12', 0, 'half_even')).toBeUndefined();
    expect(roundDecimalText(`1.${'5'.repeat(FAST_ROUND_MAX_LENGTH)}`, 2, 'half_even')).toBeUndefined();
    expect(roundDecimalText('1e5', 0, 'half_even')).toBeUndefined();
    expect(roundDecimalText(' 1.555', 2, 'half_even')).toBeUndefined();
  });
});
