// The reconciliation's shapes every layer shares: a close task's config, the child workflow's input, and the
// summary it returns (counts, control totals and report references; records stay in the systems and the store).
// Plain JSON-safe shapes only: they cross the wire and land in history.
import type { AgeingRow } from '../domain/exceptions/ageing';
import type { Category, CurrencyDifference, ReconciliationDefinitionInput, SideTotals } from '../domain/recon';

export interface TableRef {
  /** Name of a system registered with the worker (its connection comes from the worker's environment, never a payload). */
  system: string;
  table: string;
  keyField: string;
  valueField: string;
}

export interface ReconciliationTaskConfig {
  reconId: string;
  /** Legacy slice: two PostgreSQL tables on one system, compared in SQL. */
  a?: TableRef;
  b?: TableRef;
  /** The reconciliation definition (domain/recon), inline: sources, mappings, rules. */
  definition?: ReconciliationDefinitionInput;
  partitions?: number;
  asOf?: string;
  maxParallel?: number;
}

/**
 * A reconciliation child's input: either `definition` (the streaming engine: any two sources, hash partitions,
 * result store, reports) or the legacy `a`/`b` TableRef pair (one SQL comparison of two PostgreSQL tables).
 */
export interface ReconciliationInput {
  company: string;
  period: string;
  reconId: string;
  a?: TableRef;
  b?: TableRef;
  /** domain/recon definition (validated by parseDefinition in the workflow). */
  definition?: ReconciliationDefinitionInput;
  /**
   * Hash partitions reconciled as separate activities. Default: from the extracted size (about 100k records per
   * partition, a power of two up to 256), so memory per activity stays flat as sources grow.
   */
  partitions?: number;
  /** yyyy-mm-dd bound to :as_of_date in source queries and used in report names; default the period's last day. */
  asOf?: string;
  /**
   * The period's first and last day (yyyy-mm-dd), bound to :period_start and :period_end; periodEnd is also the
   * default as-of date. A close sets them for a fiscal period ("FY2026-P10") from its fiscal calendar; without them a
   * yyyy-mm period gives its calendar month.
   */
  periodStart?: string;
  periodEnd?: string;
  /** Partitions reconciled at once (default 2, one per core of a 2-core worker): bounds a worker's memory. */
  maxParallel?: number;
}

/** One report file of a run (reports/<reconId>_<kind>_<date>.<ext>). */
export interface ReconReportRef {
  /** bank_statement: the bank reconciliation statement of a definition that asks for it (json, xlsx, html, pdf). */
  kind: 'exceptions' | 'summary' | 'bank_statement';
  format: 'xlsx' | 'csv' | 'json' | 'html' | 'pdf';
  path: string;
  sha256: string;
  rows: number;
  /** Sealed at rest with the reconciliation's data key (`finflow report open` gives the clear file). */
  sealed?: boolean;
}

/** Control totals and counts only: records stay in the systems and the result store. */
export interface ReconciliationSummary {
  reconId: string;
  status: 'balanced' | 'exceptions';
  /**
   * `amount` is the side's total when it holds one currency; with several it is the string 'multi-currency' and
   * `totals` holds the amount per currency (adding currencies would be a wrong total).
   */
  a: { records: number; amount: string };
  b: { records: number; amount: string };
  keys: { matched: number; amountMismatch: number; missingInA: number; missingInB: number };
  difference: string;
  // The fields below come from the definition-driven engine only.
  /** Result-store run id (`<workflowId>/<runId>`): where the items and exceptions are. */
  runId?: string;
  partitions?: number;
  matches?: number;
  matchesByRule?: Record<string, number>;
  exceptions?: number;
  openExceptions?: number;
  perCategory?: Record<Category, number>;
  /** 'balanced': records in = matched + unmatched and amount in = matched + unmatched on both sides (checked). */
  controlTotals?: 'balanced';
  totals?: { a: SideTotals; b: SideTotals; differences: CurrencyDifference[] };
  reports?: ReconReportRef[];
  /**
   * Roll-forward (issue 15; runs with the 'recon-roll-forward' patch): the previous period's unresolved exceptions
   * of this reconciliation, brought in as a third population. They are not records of side a or b: `a`, `b`,
   * `keys`, `matches`, `perCategory` and `totals` count this period's records only, and the brought-forward items
   * balance on their own (brought in = cleared + carried, in count and per currency, checked). `openExceptions`
   * and `status` then count what is still to be worked: this period's open exceptions less those that cleared a
   * brought-forward item, plus the items carried in.
   */
  rollForward?: RollForwardSummary;
}

export interface RollForwardCount {
  count: number;
  totals: { currency: string | null; total: string }[];
}

export interface RollForwardSummary {
  /** The previous period's run the items came from; null in the reconciliation's first period. */
  fromRunId: string | null;
  fromPeriod: string | null;
  broughtIn: RollForwardCount;
  /** Matched by this period's data: resolved as cleared_next_period by the system, naming the matching record. */
  cleared: RollForwardCount;
  /** Still unresolved: carried into this run with their explanation and first-seen date. */
  carried: RollForwardCount;
  /** This period's own exceptions closed as the other side of a cleared item. */
  clearedOwn: number;
  /** The run's unresolved exceptions by age since first seen on the as-of date, per category and currency. */
  ageing: AgeingRow[];
}
