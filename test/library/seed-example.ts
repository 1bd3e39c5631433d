// The seed's getting-started example translated statement by statement into TypeScript, set up as the monthly
// close example (examples/monthly-close/close-plan.yaml) is: a general ledger in PostgreSQL (standing in for the
// seed's Oracle GL), an ERP in MariaDB (standing in for its SAP ERP), and the bank's camt.053 and MT940 statements.
import {
  ApprovalConfig,
  DataSourceRegistry,
  FinancialWorkflow,
  MappingRegistry,
  SecurityConfig,
  SystemRegistry,
} from '../../client/library';

export function seedRegistries(connections: { gl?: string; erp?: string } = {}) {
  const systems = new SystemRegistry()
    .register('general_ledger', 'postgres', connections.gl ? { connectionString: connections.gl } : {})
    .register('erp', 'mariadb', connections.erp ? { connectionString: connections.erp } : {});

  const glSide = {
    keyFields: ['document_no'],
    valueFields: ['balance'],
    dateField: 'posting_date',
    currencyField: 'currency',
    label: 'GL',
  };
  const bankSide = {
    keyFields: ['reference'],
    valueFields: ['amount'],
    dateField: 'booking_date',
    currencyField: 'currency',
    currency: 'USD',
    label: 'BANK',
  };
  const dataSources = new DataSourceRegistry()
    .register('gl_journal_lines', {
      system: 'general_ledger',
      query: 'SELECT document_no, account_code, department_code, posting_date, currency, balance FROM journal_lines',
      ...glSide,
    })
    .register('erp_postings', {
      system: 'erp',
      query: 'SELECT doc_ref, acct_num, dept_id, post_date, curr, total FROM erp_postings',
      keyFields: ['doc_ref'],
      valueFields: ['total'],
      dateField: 'post_date',
      currencyField: 'curr',
      label: 'ERP',
    })
    .register('bank_camt053', { connector: 'camt053', path: 'statements/bank-5432-2026-10.camt053.xml', ...bankSide })
    .register('bank_mt940', { connector: 'mt940', path: 'statements/bank-4300-2026-10.mt940.sta', ...bankSide })
    .register('gl_cash_1010', {
      system: 'general_ledger',
      query: "SELECT document_no, posting_date, currency, balance FROM journal_lines WHERE account_code = '1010'",
      ...glSide,
    })
    .register('gl_cash_1020', {
      system: 'general_ledger',
      query: "SELECT document_no, posting_date, currency, balance FROM journal_lines WHERE account_code = '1020'",
      ...glSide,
    });

  const mappings = new MappingRegistry()
    .register('gl_to_erp', {
      keyMappings: { document_no: 'doc_ref' },
      valueMappings: { balance: 'total' },
      fieldMappings: {
        account_code: 'acct_num',
        department_code: 'dept_id',
        posting_date: 'post_date',
        currency: 'curr',
      },
      transformations: [{ op: 'round', field: 'balance', places: 2, mode: 'half_even' }],
    })
    .register('gl_to_bank', {
      keyMappings: { reference: 'document_no' },
      valueMappings: { amount: 'balance' },
      fieldMappings: { booking_date: 'posting_date' },
    });

  const approvals = new ApprovalConfig()
    .defineRole('accountant', { canPrepare: ['journal_entry', 'reconciliation'] })
    .defineRole('supervisor', {
      canApprove: ['journal_entry', 'reconciliation'],
      approvalLimits: { journal_entry: '10000' },
    })
    .defineRole('manager', {
      canApprove: ['journal_entry', 'reconciliation'],
      approvalLimits: { journal_entry: '50000' },
    })
    .defineRole('director', {
      canApprove: ['journal_entry', 'reconciliation', 'close_review', 'task_waiver'],
      approvalLimits: { journal_entry: '1000000' },
    })
    .defineRole('controller', { canPrepare: ['close_review', 'task_waiver'] })
    .addUser('ann.accountant', { roles: ['accountant'], manager: 'sam.supervisor' })
    .addUser('sam.supervisor', { roles: ['supervisor'], manager: 'maya.manager' })
    .addUser('maya.manager', { roles: ['manager'], manager: 'dan.director' })
    .addUser('dan.director', { roles: ['director'] })
    .addUser('carla.controller', { roles: ['controller'], manager: 'dan.director' })
    .defineCheckpoint('task-waiver', {
      name: 'Waiver of a close task',
      itemType: 'task_waiver',
      requiredRoles: ['director'],
      escalation: { timeout: '4h' },
    });

  const security = new SecurityConfig()
    .applyClassification('bank_camt053', 'restricted')
    .applyClassification('bank_mt940', 'restricted');

  return { systems, dataSources, mappings, approvals, security };
}

const BD = (n: number) => `BD+${n}`;
const recon = {
  ownerRole: 'accountant',
  deadline: BD(2),
  doneWhen: 'balanced, or every exception explained and approved',
};

export function seedWorkflow(): FinancialWorkflow {
  return new FinancialWorkflow('ACME monthly close')
    .setCloseIntegration({
      company: 'ACME',
      owner: 'carla.controller',
      fiscalCalendar: { type: 'calendar_months', startMonth: 1 },
      holidays: { country: 'US', types: ['public'], closedDays: ['2026-11-27'] },
      deadline: '{month_end_date} + 3 business days',
      cutoff: { time: '18:00', utcOffset: '-05:00' },
      maxParallel: 4,
      requireSignedTaskActions: true,
    })
    .addTask({
      id: 'preliminary_close',
      name: 'Preliminary close of the general ledger',
      kind: 'journal_entry',
      ownerRole: 'accountant',
      deadline: BD(1),
      expectedDuration: '4h',
      doneWhen: 'all sub-ledgers posted and the period soft-closed in the ledger',
      retry: { maximumAttempts: 3, initialInterval: '30s', backoffCoefficient: 2 },
    })
    .addTask({
      id: 'subsystem_validation',
      name: 'Validate sub-system feeds (ERP, general ledger)',
      kind: 'activity',
      activity: 'validateSubsystems',
      ownerRole: 'accountant',
      predecessors: ['preliminary_close'],
      deadline: BD(1),
      expectedDuration: '1h',
      doneWhen: 'every source system answered with row counts for the period',
      retry: { maximumAttempts: 5, initialInterval: '1m', backoffCoefficient: 2, maximumInterval: '10m' },
      config: {
        checks: [
          { system: 'general_ledger', table: 'journal_lines' },
          { system: 'erp', table: 'erp_postings' },
        ],
      },
    })
    .addReconciliation({
      ...recon,
      id: 'gl_vs_erp',
      reconId: 'gl-vs-erp',
      name: 'GL vs ERP journal lines',
      predecessors: ['subsystem_validation'],
      expectedDuration: '3h',
      sourceA: 'gl_journal_lines',
      sourceB: 'erp_postings',
      mapping: 'gl_to_erp',
      matchingRules: [
        { id: 'exact', type: 'exact', compareDate: true, expectUnique: true },
        { id: 'tolerance', type: 'tolerance', absolute: '1.00', maxDaysApart: 0, expectUnique: true },
      ],
      categorisation: { roundingTolerance: '0.01', timingWindowDays: 31 },
    })
    .addReconciliation({
      ...recon,
      id: 'bank_reconciliation',
      reconId: 'bank-camt053',
      name: 'Bank statement (camt.053) vs GL cash 1010',
      predecessors: ['subsystem_validation'],
      expectedDuration: '2h',
      sourceA: 'bank_camt053',
      sourceB: 'gl_cash_1010',
      mapping: 'gl_to_bank',
      matchingRules: [{ id: 'exact', type: 'exact', compareDate: true, expectUnique: true }],
      categorisation: { timingWindowDays: 10 },
    })
    .addReconciliation({
      ...recon,
      id: 'bank_reconciliation_mt940',
      reconId: 'bank-mt940',
      name: 'Bank statement (MT940) vs GL cash 1020',
      predecessors: ['subsystem_validation'],
      expectedDuration: '2h',
      sourceA: 'bank_mt940',
      sourceB: 'gl_cash_1020',
      mapping: 'gl_to_bank',
      matchingRules: [{ id: 'exact', type: 'exact', compareDate: true, expectUnique: true }],
      categorisation: { timingWindowDays: 10 },
    })
    .addApprovalCheckpoint({
      id: 'reconciliation_approval',
      checkpointId: 'reconciliation-approval',
      name: 'Supervisor approval of the reconciliations',
      ownerRole: 'supervisor',
      predecessors: ['gl_vs_erp', 'bank_reconciliation', 'bank_reconciliation_mt940'].map((task) => ({
        task,
        type: 'SS_WARN' as const,
      })),
      deadline: BD(2),
      expectedDuration: '4h',
      doneWhen: 'approved by a supervisor (escalated to a manager after 4h, then a director)',
      itemType: 'reconciliation',
      requiredRoles: ['supervisor'],
      escalation: { timeout: '4h', escalationPath: ['manager', 'director'] },
      evidenceRequired: ['reconciliation_report'],
      resolutionRequired: true,
      exceptionMateriality: '0',
      item: {
        type: 'reconciliation',
        preparer: 'ann.accountant',
        ref: 'gl-vs-erp+bank-camt053+bank-mt940',
        description: 'October reconciliations with their exceptions',
        evidence: ['gl-vs-erp', 'bank-camt053', 'bank-mt940'].map((r) => ({
          kind: 'reconciliation_report',
          ref: `recon:ACME:2026-10:${r}`,
        })),
      },
    })
    .addTask({
      id: 'adjusting_entry',
      name: 'Adjusting journal entry of 75,000',
      kind: 'journal_entry',
      ownerRole: 'accountant',
      predecessors: ['reconciliation_approval'],
      deadline: BD(2),
      expectedDuration: '1h',
      doneWhen: 'the adjusting entry is drafted with its support',
      config: { amount: '75000.00', currency: 'USD' },
    })
    .addApprovalCheckpoint({
      id: 'adjusting_entry_approval',
      checkpointId: 'adjusting-entry-75k',
      name: 'Multi-level approval of the adjusting entry',
      ownerRole: 'manager',
      predecessors: ['adjusting_entry'],
      deadline: BD(3),
      expectedDuration: '4h',
      doneWhen:
        'approved at every level its amount requires (supervisor, manager up to 50,000, director up to 1,000,000)',
      itemType: 'journal_entry',
      requiredRoles: ['supervisor', 'manager', 'director'],
      mode: 'chain',
      escalation: { timeout: '4h', escalationPath: ['manager', 'director'] },
      evidenceRequired: true,
      materialityThreshold: '10000',
      item: {
        type: 'journal_entry',
        amount: '75000.00',
        currency: 'USD',
        preparer: 'ann.accountant',
        ref: 'JE-2026-10-ADJ-001',
        description: 'Accrual true-up found by the GL vs ERP reconciliation',
        evidence: [{ kind: 'journal_entry_support', ref: 'je:ACME:2026-10:JE-2026-10-ADJ-001' }],
      },
    })
    .addComplianceDocumentation({
      id: 'sox_documentation',
      name: 'SOX documentation for control F-R3-GL-15',
      ownerRole: 'controller',
      predecessors: ['reconciliation_approval', 'adjusting_entry_approval'],
      deadline: BD(3),
      expectedDuration: '2h',
      doneWhen: 'evidence package written and the attestation signed',
      regulation: 'SOX',
      controlId: 'F-R3-GL-15',
    })
    .addTask({
      id: 'financial_reporting',
      name: 'Financial reporting',
      kind: 'report',
      ownerRole: 'controller',
      predecessors: ['sox_documentation'],
      deadline: BD(3),
      expectedDuration: '3h',
      doneWhen: 'the close report (status, reconciliation figures, Gantt) is generated',
    })
    .addApprovalCheckpoint({
      id: 'management_review',
      checkpointId: 'management-review',
      name: 'Management review',
      checkpointName: 'Management review of the close',
      ownerRole: 'director',
      predecessors: ['financial_reporting'],
      deadline: BD(3),
      expectedDuration: '2h',
      doneWhen: 'reviewed and signed off by management',
      itemType: 'close_review',
      requiredRoles: ['director'],
      escalation: { timeout: '1d' },
      item: {
        type: 'close_review',
        preparer: 'carla.controller',
        ref: 'close:ACME:2026-10',
        description: 'October close, reconciliations, adjusting entry and SOX package',
      },
    });
}
