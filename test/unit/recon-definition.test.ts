import {
  DefinitionError,
  ROUNDING_MODES,
  definitionSchemas,
  parseDefinition,
  type ReconciliationDefinitionInput,
} from '../../domain/recon/definition';

const side = (name: string, extra = {}): ReconciliationDefinitionInput['a'] => ({
  name,
  source: { connector: 'postgres', system: 'ledger', query: 'SELECT * FROM gl WHERE period = :period' },
  classification: 'confidential',
  key_fields: ['account'],
  value_fields: ['amount'],
  date_field: 'date',
  currency: 'EUR',
  ...extra,
});

const valid: ReconciliationDefinitionInput = {
  id: 'gl-vs-erp',
  a: side('GL'),
  b: side('ERP', { mappings: [{ from: 'acct_num', to: 'account' }] }),
  rules: [{ id: 'exact', type: 'exact' }],
};

function problems(input: unknown): string {
  try {
    parseDefinition(input);
  } catch (e) {
    expect(e).toBeInstanceOf(DefinitionError);
    return (e as Error).message;
  }
  throw new Error('expected the definition to be refused');
}

describe('reconciliation definition', () => {
  it('fills in defaults and passes the connector’s source reference through untouched', () => {
    const d = parseDefinition(valid);
    expect(d.a.source).toEqual({
      connector: 'postgres',
      system: 'ledger',
      query: 'SELECT * FROM gl WHERE period = :period',
    });
    expect(d.a.transformations).toEqual([]);
    expect(d.b.mappings).toEqual([{ from: 'acct_num', to: 'account' }]);
    expect(d.rules[0]).toEqual({ id: 'exact', type: 'exact', compare_date: false, expect_unique: false });
    expect(d.categorisation).toEqual({ timing_window_days: 31, max_pairing_work: 65_536 });
    expect(d.currency_decimals).toEqual({});
  });

  it('keeps the data plane a definition asks for, and refuses one finflow does not have when the definition is read', () => {
    expect(parseDefinition({ ...valid, engine: 'duckdb' }).engine).toBe('duckdb');
    expect(parseDefinition(valid).engine).toBeUndefined();
    expect(problems({ ...valid, engine: 'spark' })).toMatch(/engine is 'typescript' or 'duckdb'\n\s+→ at engine/);
  });

  it('fills in the defaults of every rule type', () => {
    const d = parseDefinition({
      ...valid,
      rules: [
        { id: 't', type: 'tolerance', percent: '0.5' },
        { id: 'g', type: 'aggregated' },
        { id: 'w', type: 'date_window', days: 5 },
        { id: 's', type: 'subset_sum' },
      ],
    });
    expect(d.rules).toEqual([
      { id: 't', type: 'tolerance', percent: '0.5', combine: 'all', expect_unique: false },
      { id: 'g', type: 'aggregated', cardinality: 'many_to_one', absolute: '0' },
      { id: 'w', type: 'date_window', days: 5, expect_unique: false },
      {
        id: 's',
        type: 'subset_sum',
        group_by: 'key',
        cardinality: 'one_to_many',
        max_items: 4,
        max_group_size: 20,
        max_combinations: 100_000,
      },
    ]);
  });

  it('refuses sides whose keys cannot be compared field by field', () => {
    expect(problems({ ...valid, b: side('ERP', { key_fields: ['account', 'cc'] }) })).toContain(
      'side a has 1 key fields, side b 2: keys are compared field by field',
    );
  });

  it('refuses a side without any currency, and two sides with one name', () => {
    expect(problems({ ...valid, a: side('GL', { currency: undefined }) })).toContain(
      'needs currency_field or a fixed currency',
    );
    expect(problems({ ...valid, b: side('GL') })).toContain('the two sides need different names');
    expect(
      problems({
        ...valid,
        a: { ...side('x'), name: undefined },
        b: { ...side('x'), name: 'a' },
      }),
    ).toContain('the two sides need different names');
  });

  it('refuses duplicate rule ids and date rules without date fields on both sides', () => {
    expect(
      problems({
        ...valid,
        rules: [
          { id: 'r', type: 'exact' },
          { id: 'r', type: 'aggregated' },
        ],
      }),
    ).toContain('duplicate rule id r');
    const undated = { ...valid, b: side('ERP', { date_field: undefined }) };
    expect(problems({ ...undated, rules: [{ id: 'w', type: 'date_window', days: 3 }] })).toContain(
      'rule w compares dates: both sides need a date_field',
    );
    expect(problems({ ...undated, rules: [{ id: 'e', type: 'exact', compare_date: true }] })).toContain(
      'rule e compares dates',
    );
    expect(
      problems({ ...undated, rules: [{ id: 't', type: 'tolerance', absolute: '1', max_days_apart: 2 }] }),
    ).toContain('rule t compares dates');
    expect(parseDefinition({ ...undated, rules: [{ id: 't', type: 'tolerance', absolute: '1' }] }).rules).toHaveLength(
      1,
    );
  });

  it('refuses money written as a JSON number, negative limits, tolerances without a limit and percentages above 100', () => {
    expect(problems({ ...valid, rules: [{ id: 't', type: 'tolerance', absolute: 0.05 }] })).toContain('absolute');
    expect(problems({ ...valid, rules: [{ id: 't', type: 'tolerance', absolute: '-0.05' }] })).toContain(
      'must not be negative',
    );
    expect(problems({ ...valid, rules: [{ id: 't', type: 'tolerance' }] })).toContain(
      'a tolerance rule needs absolute or percent',
    );
    expect(problems({ ...valid, rules: [{ id: 't', type: 'tolerance', percent: '100.01' }] })).toContain(
      'a percentage above 100 would accept amounts of the opposite sign',
    );
    expect(parseDefinition({ ...valid, rules: [{ id: 't', type: 'tolerance', percent: '100' }] }).rules).toHaveLength(
      1,
    );
  });

  it('refuses a round transformation without an explicit mode and unknown operations', () => {
    const withT = (t: unknown) => ({ ...valid, a: side('GL', { transformations: [t] }) });
    expect(problems(withT({ op: 'round', field: 'amount', places: 2 }))).toContain('mode');
    expect(problems(withT({ op: 'shout', field: 'amount' }))).toContain('transformations');
    expect(
      parseDefinition(withT({ op: 'round', field: 'amount', places: 2, mode: 'half_up' })).a.transformations,
    ).toEqual([{ op: 'round', field: 'amount', places: 2, mode: 'half_up' }]);
  });

  it('refuses field names that would read inherited object members', () => {
    expect(problems({ ...valid, a: side('GL', { key_fields: ['constructor'] }) })).toContain(
      'may not be the name of an Object.prototype member',
    );
  });

  it('refuses a source without a connector, an empty rule list and a subset search without bounds', () => {
    expect(problems({ ...valid, a: side('GL', { source: { system: 'x' } }) })).toContain('connector');
    expect(problems({ ...valid, rules: [] })).toContain('rules');
    expect(problems({ ...valid, rules: [{ id: 's', type: 'subset_sum', max_items: 50 }] })).toContain('max_items');
    expect(problems({ ...valid, rules: [{ id: 's', type: 'subset_sum', max_combinations: 0 }] })).toContain(
      'max_combinations',
    );
  });

  it('exposes its parts as schemas for builders to validate pieces on their own, built once', () => {
    const {
      categorisationSchema,
      mappingSchema,
      reconciliationDefinitionSchema,
      ruleSchema,
      sideSchema,
      sourceRefSchema,
      transformationSchema,
    } = definitionSchemas();
    expect(definitionSchemas().sideSchema).toBe(sideSchema);
    expect(ROUNDING_MODES).toContain('half_even');
    expect(sourceRefSchema.parse({ connector: 'csv', path: 'x.csv' })).toEqual({ connector: 'csv', path: 'x.csv' });
    expect(mappingSchema.safeParse({ from: '', to: 'x' }).success).toBe(false);
    expect(transformationSchema.parse({ op: 'negate', field: 'amount' })).toEqual({ op: 'negate', field: 'amount' });
    expect(sideSchema.safeParse(side('GL')).success).toBe(true);
    expect(ruleSchema.safeParse({ id: 'bad id', type: 'exact' }).success).toBe(false);
    expect(categorisationSchema.parse({})).toEqual({ timing_window_days: 31, max_pairing_work: 65_536 });
    expect(reconciliationDefinitionSchema.safeParse(valid).success).toBe(true);
  });
});
