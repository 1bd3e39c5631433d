import { closeWorkflowId, parseCloseWorkflowId, reconWorkflowId } from '../../domain/ids';

describe('workflow ids from business keys', () => {
  it('builds close and reconciliation ids from company, period and reconciliation id', () => {
    expect(closeWorkflowId('ACME', '2026-10')).toBe('close:ACME:2026-10');
    expect(reconWorkflowId('ACME', '2026-10', 'gl-vs-erp')).toBe('recon:ACME:2026-10:gl-vs-erp');
  });

  it('refuses parts that would make an ambiguous id, naming the part', () => {
    expect(() => closeWorkflowId('AC:ME', '2026-10')).toThrow(/company "AC:ME" may hold only/);
    expect(() => closeWorkflowId('ACME', '')).toThrow(/period ""/);
    expect(() => reconWorkflowId('ACME', '2026-10', 'gl vs erp')).toThrow(/reconciliation id "gl vs erp"/);
  });

  it('parses a close id back into company and period, and refuses anything else', () => {
    expect(parseCloseWorkflowId('close:ACME:2026-10')).toEqual({ company: 'ACME', period: '2026-10' });
    expect(() => parseCloseWorkflowId('recon:ACME:2026-10:x')).toThrow(/not a close workflow id/);
  });
});
