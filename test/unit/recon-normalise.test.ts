import { parseDefinition, type ReconciliationDefinitionInput } from '../../domain/recon/definition';
import {
  KEY_SEPARATOR,
  NormalisationError,
  compileDateFormat,
  createNormaliser,
  currencyScale,
  decimalToMinor,
  normaliseRecords,
  parseDateWith,
  type RawValue,
} from '../../domain/recon/normalise';

type SideInput = ReconciliationDefinitionInput['a'];

function defWith(a: Partial<SideInput>, extra: Partial<ReconciliationDefinitionInput> = {}) {
  const base: SideInput = {
    name: 'GL',
    source: { connector: 'csv', path: 'gl.csv' },
    classification: 'confidential',
    key_fields: ['account'],
    value_fields: ['amount'],
    currency: 'EUR',
  };
  return parseDefinition({
    id: 'n',
    a: { ...base, ...a },
    b: { ...base, name: 'ERP', key_fields: a.key_fields ?? base.key_fields },
    rules: [{ id: 'exact', type: 'exact' }],
    ...extra,
  });
}

function one(a: Partial<SideInput>, values: Record<string, RawValue>, line = 7) {
  return createNormaliser(defWith(a), 'a', { source: 'gl.csv' })({ line, values });
}

function failure(fn: () => unknown): NormalisationError {
  try {
    fn();
  } catch (e) {
    if (e instanceof NormalisationError) return e;
    throw e;
  }
  throw new Error('expected a NormalisationError');
}

describe('normalising records', () => {
  it('renames fields, builds the composite key and converts the amount to minor units', () => {
    const r = one(
      {
        key_fields: ['account', 'cost_center'],
        mappings: [
          { from: 'acct_num', to: 'account' },
          { from: 'cc', to: 'cost_center' },
        ],
      },
      { acct_num: '4000', cc: 'C1', amount: '-1234.5', note: 'x', empty: null, gone: undefined },
    );
    expect(r).toEqual({
      id: 'GL:7',
      side: 'a',
      line: 7,
      key: `4000${KEY_SEPARATOR}C1`,
      fields: { account: '4000', cost_center: 'C1', amount: '-1234.5', note: 'x' },
      amountMinor: -123450,
      currency: 'EUR',
      date: null,
    });
  });

  it('takes the id from id_field when there is one, and refuses a batch where two records share it', () => {
    const def = defWith({ id_field: 'txn' });
    const ok = normaliseRecords(
      [
        { line: 1, values: { account: '1', amount: '1', txn: ' T-1 ' } },
        { line: 2, values: { account: '1', amount: '1', txn: 'T-2' } },
      ],
      def,
      'a',
    );
    expect(ok.map((r) => r.id)).toEqual(['GL:T-1', 'GL:T-2']);
    const dup = failure(() =>
      normaliseRecords(
        [
          { line: 1, values: { account: '1', amount: '1', txn: 'T-1' } },
          { line: 5, values: { account: '1', amount: '1', txn: 'T-1' } },
        ],
        def,
        'a',
        { source: 'gl.csv' },
      ),
    );
    expect(dup.message).toBe('gl.csv line 5 (record GL:T-1), field "txn": id "GL:T-1" also on line 1');
    expect(
      failure(() => normaliseRecords([{ line: 3, values: { account: '1', amount: '1' } }], def, 'a')).message,
    ).toBe('GL line 3, field "txn": id field is empty');
  });

  it('labels ids with the side letter when the side has no name, and numbers them by line', () => {
    const def = parseDefinition({
      id: 'n',
      a: { source: { connector: 'x' }, classification: 'c', key_fields: ['k'], value_fields: ['v'], currency: 'EUR' },
      b: { source: { connector: 'x' }, classification: 'c', key_fields: ['k'], value_fields: ['v'], currency: 'EUR' },
      rules: [{ id: 'exact', type: 'exact' }],
    });
    const rows = [
      { line: 3, values: { k: 'x', v: '1' } },
      { line: 4, values: { k: 'x', v: '1' } },
    ];
    expect(normaliseRecords(rows, def, 'b').map((r) => r.id)).toEqual(['b:3', 'b:4']);
    const withIds = { ...def, b: { ...def.b, id_field: 'k' } };
    expect(failure(() => normaliseRecords(rows, withIds, 'b')).message).toBe(
      'b line 4 (record b:x), field "k": id "b:x" also on line 3',
    );
  });

  it('names the source, line, record and field of a bad value', () => {
    const e = failure(() => one({}, { account: '4000', amount: '12,50' }));
    expect(e).toMatchObject({ source: 'gl.csv', line: 7, field: 'amount', recordId: 'GL:7' });
    expect(e.message).toBe('gl.csv line 7 (record GL:7), field "amount": not a decimal amount: "12,50"');
  });

  it('refuses missing or empty key fields and keys holding the separator', () => {
    expect(failure(() => one({}, { amount: '1' })).message).toContain('field "account": key field is missing or empty');
    expect(failure(() => one({}, { account: '', amount: '1' })).field).toBe('account');
    expect(failure(() => one({}, { account: `a${KEY_SEPARATOR}b`, amount: '1' })).message).toContain('U+001F');
  });

  it('reads the currency from its field, falls back to the fixed one, and refuses codes that are not ISO 4217', () => {
    expect(one({ currency_field: 'ccy' }, { account: '1', amount: '1', ccy: ' usd ' }).currency).toBe('USD');
    expect(one({ currency_field: 'ccy' }, { account: '1', amount: '1', ccy: '' }).currency).toBe('EUR');
    expect(failure(() => one({ currency_field: 'ccy' }, { account: '1', amount: '1', ccy: 'EURO' })).message).toContain(
      '"EURO" is not an ISO 4217 currency code',
    );
    const def = defWith({});
    const bare = { ...def, a: { ...def.a, currency: undefined } };
    expect(failure(() => createNormaliser(bare, 'a')({ line: 1, values: { account: '1', amount: '1' } })).field).toBe(
      'currency',
    );
  });

  it('uses the minor units of the currency, or the definition override', () => {
    expect(one({ currency: 'JPY' }, { account: '1', amount: '1500' }).amountMinor).toBe(1500);
    expect(one({ currency: 'KWD' }, { account: '1', amount: '1.5' }).amountMinor).toBe(1500);
    expect(failure(() => one({ currency: 'JPY' }, { account: '1', amount: '1500.5' })).message).toContain(
      'has more than 0 decimal places: add a round transformation with an explicit mode',
    );
    const def = defWith({ currency: 'JPY' }, { currency_decimals: { JPY: 2 } });
    expect(currencyScale(def, 'JPY')).toBe(2);
    expect(createNormaliser(def, 'a')({ line: 1, values: { account: '1', amount: '1500.5' } }).amountMinor).toBe(
      150050,
    );
  });

  it('accepts integer JS numbers and bigints but refuses floats', () => {
    expect(one({}, { account: 4000, amount: 12n }).key).toBe('4000');
    expect(one({}, { account: 4000, amount: 12n }).amountMinor).toBe(1200);
    expect(one({}, { account: true, amount: '1' }).key).toBe('true');
    expect(failure(() => one({}, { account: '1', amount: 0.1 })).message).toContain(
      '0.1 is a non-integer or unsafe JS number; deliver decimals as strings',
    );
  });

  it('checks the other value fields and the date field', () => {
    const side = { value_fields: ['amount', 'tax'], date_field: 'date' };
    expect(one(side, { account: '1', amount: '1', tax: ' 0.19 ', date: '2026-02-28' }).date).toBe('2026-02-28');
    expect(one(side, { account: '1', amount: '1', tax: '.19', date: '2024-02-29' }).date).toBe('2024-02-29');
    expect(failure(() => one(side, { account: '1', amount: '1', tax: '.', date: '2026-02-28' })).field).toBe('tax');
    expect(failure(() => one(side, { account: '1', amount: '1', tax: '', date: '2026-02-28' })).field).toBe('tax');
    expect(failure(() => one(side, { account: '1', amount: '1', tax: 'x', date: '2026-02-28' })).field).toBe('tax');
    expect(failure(() => one(side, { account: '1', amount: '1', date: '2026-02-28' })).field).toBe('tax');
    expect(failure(() => one(side, { account: '1', amount: '1', tax: '1', date: ' ' })).message).toContain(
      'date is missing',
    );
    expect(failure(() => one(side, { account: '1', amount: '1', tax: '1', date: '2026-02-30' })).message).toContain(
      'is not an ISO date; add a date transformation',
    );
    expect(failure(() => one(side, { account: '1', amount: '1', tax: '1', date: '28.02.2026' })).field).toBe('date');
  });

  it('refuses a raw field called __proto__ instead of silently dropping it', () => {
    const values = JSON.parse('{"account": "1", "amount": "1", "__proto__": "x"}') as Record<string, string>;
    expect(failure(() => one({}, values)).message).toBe(
      'gl.csv line 7, field "__proto__": a field may not be called __proto__',
    );
  });

  it('refuses a missing amount', () => {
    expect(failure(() => one({}, { account: '1' })).message).toContain('field "amount": amount is missing');
  });
});

describe('decimalToMinor', () => {
  it('converts plain decimals exactly, including trailing zeros beyond the scale', () => {
    expect(decimalToMinor('12.3400', 2)).toBe(1234);
    expect(decimalToMinor('+.5', 2)).toBe(50);
    expect(decimalToMinor('5.', 2)).toBe(500);
    expect(decimalToMinor('-0.00', 2)).toBe(0);
    expect(Object.is(decimalToMinor('-0.00', 2), 0)).toBe(true);
    expect(decimalToMinor('007', 0)).toBe(7);
    expect(decimalToMinor(' 1.5 ', 3)).toBe(1500);
  });

  it('refuses non-decimals, extra precision and magnitudes beyond Number.MAX_SAFE_INTEGER minor units', () => {
    expect(decimalToMinor('', 2)).toBe('not a decimal amount: ""');
    expect(decimalToMinor('.', 2)).toBe('not a decimal amount: "."');
    expect(decimalToMinor('1e5', 2)).toBe('not a decimal amount: "1e5"');
    expect(decimalToMinor('1.005', 2)).toMatch(/more than 2 decimal places/);
    expect(decimalToMinor('90071992547409.91', 2)).toBe(Number.MAX_SAFE_INTEGER);
    expect(decimalToMinor('-90071992547409.91', 2)).toBe(-Number.MAX_SAFE_INTEGER);
    expect(decimalToMinor('90071992547409.92', 2)).toMatch(/beyond the exact range of minor units/);
    expect(decimalToMinor('100000000000000000', 0)).toMatch(/beyond the exact range/);
  });
});

describe('transformations', () => {
  const t = (transformations: SideInput['transformations'], values: Record<string, string>, extra = {}) =>
    one({ transformations, ...extra }, { account: '1', amount: '0', ...values }).fields;

  it('trims, changes case, strips leading zeros and fills defaults', () => {
    expect(
      t(
        [
          { op: 'trim', field: 'a' },
          { op: 'upper', field: 'a' },
          { op: 'lower', field: 'b' },
          { op: 'strip_leading_zeros', field: 'c' },
          { op: 'strip_leading_zeros', field: 'd' },
          { op: 'strip_leading_zeros', field: 'e' },
          { op: 'default', field: 'f', value: 'N/A' },
          { op: 'default', field: 'g', value: 'N/A' },
          { op: 'trim', field: 'missing' },
          { op: 'strip_leading_zeros', field: 'missing' },
        ],
        { a: ' ab ', b: 'CD', c: '000123', d: '000', e: '5', f: '  ', g: 'x' },
      ),
    ).toMatchObject({ a: 'AB', b: 'cd', c: '123', d: '0', e: '5', f: 'N/A', g: 'x' });
  });

  it('reads amounts with other decimal marks, grouping, parentheses and trailing minus signs', () => {
    const fmt = (v: string, opts: object) =>
      t([{ op: 'decimal_format', field: 'amount', decimal_separator: ',', group_separator: '.', ...opts }], {
        amount: v,
      }).amount;
    expect(fmt('1.234,56', {})).toBe('1234.56');
    expect(fmt('(1.234,56)', { parentheses_negative: true })).toBe('-1234.56');
    expect(fmt('1.234,56-', { trailing_minus: true })).toBe('-1234.56');
    expect(
      t([{ op: 'decimal_format', field: 'amount', decimal_separator: '.', group_separator: ',' }], {
        amount: '1,234.50',
      }).amount,
    ).toBe('1234.50');
    expect(t([{ op: 'decimal_format', field: 'x', decimal_separator: '.' }], {}).x).toBeUndefined();
    expect(
      failure(() => t([{ op: 'decimal_format', field: 'amount', decimal_separator: ',' }], { amount: '1.234,5' }))
        .message,
    ).toContain(`"1.234,5" holds '.' but the decimal separator is ','`);
    expect(
      failure(() => t([{ op: 'decimal_format', field: 'amount', decimal_separator: ',' }], { amount: 'abc' })).message,
    ).toContain('not a decimal amount: "abc"');
  });

  it('rounds with the given mode and leaves values with few enough decimals alone', () => {
    const round = (v: string, mode: 'half_even' | 'half_up' | 'down' | 'ceiling') =>
      t([{ op: 'round', field: 'amount', places: 2, mode }], { amount: v }).amount;
    expect(round('1.005', 'half_even')).toBe('1');
    expect(round('1.015', 'half_even')).toBe('1.02');
    expect(round('1.005', 'half_up')).toBe('1.01');
    expect(round('-1.009', 'down')).toBe('-1');
    expect(round('1.001', 'ceiling')).toBe('1.01');
    expect(round(' 1.5 ', 'half_up')).toBe(' 1.5 ');
    expect(round('7', 'half_up')).toBe('7');
    expect(t([{ op: 'round', field: 'x', places: 2, mode: 'half_up' }], {}).x).toBeUndefined();
    expect(failure(() => round('1,5', 'half_up')).field).toBe('amount');
  });

  it('scales and negates exactly', () => {
    expect(t([{ op: 'scale', field: 'amount', factor: '0.01' }], { amount: '12345' }).amount).toBe('123.45');
    expect(t([{ op: 'scale', field: 'amount', factor: '-1000' }], { amount: '1.5' }).amount).toBe('-1500');
    expect(t([{ op: 'scale', field: 'x', factor: '2' }], {}).x).toBeUndefined();
    expect(failure(() => t([{ op: 'scale', field: 'amount', factor: '2' }], { amount: 'x' })).field).toBe('amount');
    const negate = (v: string) => t([{ op: 'negate', field: 'amount' }], { amount: v }).amount;
    expect(negate('5')).toBe('-5');
    expect(negate('-5')).toBe('5');
    expect(negate('+5')).toBe('-5');
    expect(t([{ op: 'negate', field: 'x' }], {}).x).toBeUndefined();
    expect(failure(() => negate('--5')).field).toBe('amount');
  });

  it('turns debit and credit columns into one signed amount', () => {
    const dc = (debit: string, credit: string, sign?: 'credit_positive') =>
      t([{ op: 'debit_credit', debit: 'dr', credit: 'cr', into: 'amount', ...(sign ? { sign } : {}) }], {
        dr: debit,
        cr: credit,
      }).amount;
    expect(dc('10.00', '')).toBe('10.00');
    expect(dc('', '10.00')).toBe('-10.00');
    expect(dc('10.00', '2.5')).toBe('7.5');
    expect(dc('10.00', '', 'credit_positive')).toBe('-10.00');
    expect(failure(() => dc(' ', '')).message).toContain('both dr and cr are empty');
    expect(failure(() => dc('x', '')).field).toBe('dr');
    expect(failure(() => dc('1', 'y')).field).toBe('cr');
  });

  it('parses dates in the listed formats, checking the calendar and any time part', () => {
    const date = (v: string, formats: string[]) =>
      one(
        { date_field: 'date', transformations: [{ op: 'date', field: 'date', formats }] },
        { account: '1', amount: '1', date: v },
      ).date;
    expect(date('31.12.2026', ['yyyy-MM-dd', 'dd.MM.yyyy'])).toBe('2026-12-31');
    expect(date('02/29/2024', ['MM/dd/yyyy'])).toBe('2024-02-29');
    expect(date('20260105', ['yyyyMMdd'])).toBe('2026-01-05');
    expect(date('1/5/2026', ['M/d/yyyy'])).toBe('2026-01-05');
    expect(date('2026-01-05T23:59:59', ['yyyy-MM-ddTHH:mm:ss'])).toBe('2026-01-05');
    expect(failure(() => date('29.02.2026', ['dd.MM.yyyy'])).message).toContain(
      '"29.02.2026" matches none of the formats dd.MM.yyyy',
    );
    expect(failure(() => date('2026-01-05T24:00:00', ['yyyy-MM-ddTHH:mm:ss'])).field).toBe('date');
    expect(failure(() => date('2026-01-05T10:60:00', ['yyyy-MM-ddTHH:mm:ss'])).field).toBe('date');
    expect(failure(() => date('2026-13-01', ['yyyy-MM-dd'])).field).toBe('date');
    expect(failure(() => date('2026-01-00', ['yyyy-MM-dd'])).field).toBe('date');
    expect(t([{ op: 'date', field: 'x', formats: ['yyyy-MM-dd'] }], {}).x).toBeUndefined();
  });

  it('refuses date formats without exactly one year, month and day', () => {
    expect(() => compileDateFormat('MM/dd')).toThrow('needs exactly one yyyy');
    expect(() => compileDateFormat('yyyy-MM-dd dd')).toThrow('needs exactly one yyyy');
    expect(parseDateWith([compileDateFormat('yyyy.MM.dd')], '2026x01x05')).toBeUndefined();
    expect(parseDateWith([compileDateFormat('yyyy.MM.dd')], '2026.01.05')).toBe('2026-01-05');
  });

  it('maps codes through lookups, keeping or refusing unmapped values', () => {
    const lookup = (v: string, unmapped: 'error' | 'keep', into?: string) =>
      t(
        [{ op: 'lookup', field: 'code', map: { '4000': 'REV', '5000': 'COGS' }, unmapped, ...(into ? { into } : {}) }],
        {
          code: v,
        },
      );
    expect(lookup('4000', 'error').code).toBe('REV');
    expect(lookup('9999', 'keep').code).toBe('9999');
    expect(lookup('4000', 'keep', 'group')).toMatchObject({ code: '4000', group: 'REV' });
    expect(lookup('9999', 'keep', 'group')).toMatchObject({ code: '9999', group: '9999' });
    expect(failure(() => lookup('9999', 'error')).message).toContain('"9999" is not in the lookup map');
    expect(failure(() => lookup('constructor', 'error')).field).toBe('code');
    expect(t([{ op: 'lookup', field: 'x', map: {}, unmapped: 'error' }], {}).x).toBeUndefined();
  });
});
