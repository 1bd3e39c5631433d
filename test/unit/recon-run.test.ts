// A reconciliation run is refused before anything starts (client/recon-run.ts, `finflow recon run`): a wrong
// definition, a parameter it uses that the run does not give, a date that is not yyyy-mm-dd, no period.
import { collectParam, formatReconSummary } from '../../client/commands/recon';
import { reconRunInput, renderDefinition } from '../../client/recon-run';
import type { ReconciliationDefinitionInput } from '../../domain/recon/definition';

const dir = '/data/in';
const side = (file: string) => ({
  source: { connector: 'csv', path: `{execution.parameters.dir}/${file}` },
  classification: 'internal',
  key_fields: ['account_code'],
  value_fields: ['amount'],
  currency: 'USD',
});
const definition = (): ReconciliationDefinitionInput =>
  ({
    id: 'gl-vs-erp',
    a: side('gl.csv'),
    b: side('erp.csv'),
    rules: [{ id: 'exact', type: 'exact' }],
  }) as unknown as ReconciliationDefinitionInput;

describe('a reconciliation run refused before it starts', () => {
  it('names a parameter the definition uses but the run does not give, with where it is used', () => {
    expect(() => renderDefinition(definition(), { month_end_date: '2026-10-31' })).toThrow(
      'a.source.path: execution parameter dir is not given; b.source.path: execution parameter dir is not given',
    );
  });

  it('refuses a wrong definition, a date that is not yyyy-mm-dd, a run with no period, and a malformed --param', () => {
    expect(() =>
      reconRunInput({ ...definition(), rules: [] } as ReconciliationDefinitionInput, {
        dir,
        month_end_date: '2026-10-31',
      }),
    ).toThrow(/^reconciliation definition: [\s\S]*at rules/);
    expect(() => reconRunInput(definition(), { dir, month_end_date: '31.10.2026' })).toThrow(
      'the as-of date must be yyyy-mm-dd (got "31.10.2026")',
    );
    expect(() => reconRunInput(definition(), { dir })).toThrow(/needs its period/);
    expect(reconRunInput(definition(), { dir, period: '2026-Q4' })).toMatchObject({
      period: '2026-Q4',
      company: 'adhoc',
    });
    expect(() => collectParam('month_end_date')).toThrow('--param takes name=value (got "month_end_date")');
    expect(collectParam('a=b=c', { x: '1' })).toEqual({ x: '1', a: 'b=c' });
  });
});

describe('the printed summary of a reconciliation run', () => {
  it('prints a balanced run without matches or exceptions lines it has no figures for', () => {
    const text = formatReconSummary('recon:A:2026-10:x', {
      reconId: 'x',
      status: 'balanced',
      a: { records: 0, amount: '0' },
      b: { records: 0, amount: '0' },
      keys: { matched: 0, amountMismatch: 0, missingInA: 0, missingInB: 0 },
      difference: '0',
    });
    expect(text).toBe('recon:A:2026-10:x: balanced\n  A: 0 records, 0    B: 0 records, 0    difference 0');
  });

  it("renders the parameters into the definition's strings and keeps everything else as it was", () => {
    const d = renderDefinition(definition(), { dir });
    expect((d as unknown as { a: { source: { path: string } } }).a.source.path).toBe('/data/in/gl.csv');
    expect((d as unknown as { rules: unknown }).rules).toEqual([{ id: 'exact', type: 'exact' }]);
    expect(
      reconRunInput(
        definition(),
        { dir, as_of_date: '2026-10-31', company: 'ACME' },
        { partitions: 2, maxParallel: 1 },
      ),
    ).toMatchObject({
      company: 'ACME',
      period: '2026-10',
      asOf: '2026-10-31',
      reconId: 'gl-vs-erp',
      partitions: 2,
      maxParallel: 1,
    });
  });
});
