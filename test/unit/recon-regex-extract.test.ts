import { DefinitionError, parseDefinition, type ReconciliationDefinitionInput } from '../../domain/recon/definition';
import { normaliseRecords } from '../../domain/recon/normalise';
import { compileExtract } from '../../domain/recon/regex-extract';

type Transformations = NonNullable<ReconciliationDefinitionInput['a']['transformations']>;

function bankDefinition(transformations: Transformations): ReconciliationDefinitionInput {
  const side = (name: string) => ({
    name,
    source: { connector: 'memory' },
    classification: 'internal',
    key_fields: ['ccy'],
    value_fields: ['amount'],
    currency: 'EUR',
  });
  return {
    id: 'bank',
    a: { ...side('BANK'), transformations },
    b: side('GL'),
    rules: [{ id: 'exact', type: 'exact' }],
  };
}

const invoice = {
  op: 'regex_extract' as const,
  field: 'remittance',
  into: 'reference',
  pattern: '(INV|CHK)[-/ ]?(\\d{6})',
  flags: 'i',
  output: '$1-$2',
  case: 'upper' as const,
};

function extract(transformations: Transformations, texts: string[]): (string | undefined)[] {
  const def = parseDefinition(bankDefinition(transformations));
  const records = normaliseRecords(
    texts.map((remittance, i) => ({ line: i + 1, values: { ccy: 'EUR', amount: '1.00', remittance } })),
    def,
    'a',
  );
  return records.map((r) => r.fields.reference);
}

function refusal(transformations: Transformations): string {
  try {
    parseDefinition(bankDefinition(transformations));
  } catch (e) {
    expect(e).toBeInstanceOf(DefinitionError);
    return (e as Error).message;
  }
  throw new Error('the definition was accepted');
}

describe('regex_extract: references found in text', () => {
  it('writes every spelling of an invoice number in one normalised form', () => {
    expect(
      extract([invoice], ['INV-123456', 'payment inv123456 thanks', '/INV/123456/', 'REF INV 123456', 'chk/654321']),
    ).toEqual(['INV-123456', 'INV-123456', 'INV-123456', 'INV-123456', 'CHK-654321']);
  });

  it('leaves the field empty (null) when the text holds no reference, even if the source had one', () => {
    const def = parseDefinition(bankDefinition([invoice]));
    const [r] = normaliseRecords(
      [{ line: 1, values: { ccy: 'EUR', amount: '1.00', remittance: 'SEPA transfer', reference: 'stale' } }],
      def,
      'a',
    );
    expect(r.fields.reference).toBeUndefined();
    expect('reference' in r.fields).toBe(false);
  });

  it('takes the first capture group by default and the whole match when the pattern has none', () => {
    expect(
      extract([{ op: 'regex_extract', field: 'remittance', into: 'reference', pattern: 'E2E(\\d+)' }], ['x E2E77 y']),
    ).toEqual(['77']);
    expect(
      extract([{ op: 'regex_extract', field: 'remittance', into: 'reference', pattern: 'E2E\\d+' }], ['x E2E77 y']),
    ).toEqual(['E2E77']);
  });

  it('collects all matches in order without duplicates when asked, and names groups by name', () => {
    const all = {
      ...invoice,
      pattern: '(?<kind>INV|CHK)[-/ ]?(?<no>\\d{6})',
      output: '$<kind>-$<no>',
      match: 'all' as const,
    };
    expect(extract([all], ['INV-000001, inv 000002 and INV000001', 'nothing here'])).toEqual([
      'INV-000001,INV-000002',
      undefined,
    ]);
  });

  it('refuses a pattern that does not compile, naming the transformation and field', () => {
    const message = refusal([{ ...invoice, pattern: '(INV|CHK' }]);
    expect(message).toMatch(/the pattern does not compile/);
    expect(message).toMatch(/a\.transformations\[0\]\.pattern/);
  });

  it('refuses an output naming a capture group the pattern does not have', () => {
    expect(refusal([{ ...invoice, output: '$1-$3' }])).toMatch(
      /the output uses \$3 but the pattern has 2 capture groups[\s\S]*a\.transformations\[0\]\.output/,
    );
    expect(refusal([{ ...invoice, output: '$<number>' }])).toMatch(/capture group <number> the pattern does not have/);
    expect(refusal([{ ...invoice, flags: 'g' }])).toMatch(/flags may be i, m, s and u/);
  });

  it('writes $$ as a dollar sign and keeps the text after the last group', () => {
    expect(extract([{ ...invoice, output: '$$$2 ($1) paid' }], ['payment inv123456 thanks', 'SEPA'])).toEqual([
      '$123456 (INV) PAID',
      undefined,
    ]);
  });

  it('refuses to build an extractor from an extract the definition would refuse, naming the problem', () => {
    const x = { pattern: '(INV', flags: '', case: 'keep' as const, match: 'first' as const, separator: ',' };
    expect(() => compileExtract(x)).toThrow(/the pattern does not compile/);
    expect(() => compileExtract({ ...x, pattern: 'INV(\\d+)', output: '$2' })).toThrow(
      /the output uses \$2 but the pattern has 1 capture group$/,
    );
  });
});
