// From a close's state to the evidence input of one control: the documentation task's config names the control,
// and the close supplies the population (reconciliation summaries), the approval evidence (checkpoint decisions,
// refused attempts), the exception handling (exceptions and the close's journal) and who prepared and reviewed.
// The three controls of the seed (control totals balanced, segregation of duties held, approvals within limits) are
// judged here from that same state, so the verdict is reproducible from the package's own contents.
//
// Pure and deterministic: no clock (the caller passes `asOf`), no I/O. The shapes of the close's state are declared
// structurally here (domain/ does not import workflows/), as subsets of workflows/types.ts.
import { z } from 'zod';
import { parseDecimal, type Dec } from '../money';
import { ControlDefinitionSchema, type ControlDefinitionInput } from './control';
import type { CloseJournalEvidence, EvidenceInputRaw } from './evidence';
import { EvidenceInputError } from './evidence';
import { attestationsOf } from './attestation';
import { explainersWhoApproved } from './conclusion-checks';

/** The seed's SOX control, so a plan may name it by regulation and id alone. */
export const SEED_CONTROLS: Record<string, ControlDefinitionInput> = {
  'SOX/F-R3-GL-15': {
    regulation: 'SOX',
    controlId: 'F-R3-GL-15',
    description:
      'Monthly reconciliation of the general ledger to the sub-ledgers and the bank, with every exception ' +
      'investigated and resolved, reviewed and approved by an authorised person within their limit, and the ' +
      'preparer never approving their own work.',
    evidence: [
      'reconciliation_summary',
      'exception_report',
      'exception_handling',
      'approval_evidence',
      'workflow_history',
    ],
    attestationText:
      'I attest that the reconciliations of this period are complete and accurate, that every exception was ' +
      'investigated and resolved or explained, and that the approvals were given by authorised people within ' +
      'their limits, none by the preparer of the item approved.',
    attestationRequiredFrom: 'controller',
  },
};

const roleName = z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'a role is letters, digits, ".", "_" or "-"');
const roles = z.union([roleName, z.array(roleName).min(1)]);
const isoInstant = z.iso.datetime({ offset: true, message: 'an ISO 8601 instant, e.g. 2026-11-03T17:00:00Z' });
const person = z.object({ id: z.string().trim().min(1), role: roleName, at: isoInstant.optional() }).strict();

/** The `config` of a documentation task (plan kind `documentation`). */
export const CloseEvidenceConfigSchema = z
  .object({
    regulation: z.string().min(1),
    controlId: z.string().min(1),
    description: z.string().optional(),
    evidence: z.array(z.string()).optional(),
    /** The attestation: its text, or the text and the role(s) it is required from. */
    attestation: z
      .union([z.string().min(1), z.object({ text: z.string().min(1), requiredFrom: roles }).strict()])
      .optional(),
    attestationText: z.string().min(1).optional(),
    attestationRequiredFrom: roles.optional(),
    /** Unexplained exceptions above this amount keep the control from holding (default 0: any). */
    materiality: z.string().optional(),
    /**
     * The task waits for the attestation, captured as a signed `attest` task action from a holder of a required
     * role (domain/compliance/attestation.ts), before it builds the package. Without it the package is built at
     * once, and says the control is not held when nobody attested.
     */
    awaitAttestation: z.boolean().optional(),
    /** Attestations already given (e.g. entered with the task's completion). */
    attestations: z
      .array(
        z.object({ id: z.string().min(1), role: roleName, at: isoInstant, statement: z.string().optional() }).strict(),
      )
      .optional(),
    /** Who prepared and who reviewed; by default the approval checkpoints' preparer and last approver. */
    preparedBy: person.optional(),
    reviewedBy: person.optional(),
  })
  .strict();
export type CloseEvidenceConfig = z.output<typeof CloseEvidenceConfigSchema>;

/** workflows/types.ts ReconciliationSummary, as far as evidence needs it (extra fields are ignored). */
export interface CloseReconciliation {
  reconId: string;
  name?: string;
  status: 'balanced' | 'exceptions';
  a: { records: number; amount: string };
  b: { records: number; amount: string };
  keys: { matched: number; amountMismatch: number; missingInA: number; missingInB: number };
  difference: string;
  /** 'balanced' when the engine checked records and amounts in = matched + unmatched on both sides. */
  controlTotals?: string;
  /**
   * The engine's exception count (every category: timing, duplicates, rounding... not only the three that `keys`
   * names) and how many of them are open. Absent for the legacy table comparison, where `keys` says it all.
   */
  exceptions?: number;
  openExceptions?: number;
}

/** workflows/types.ts CheckpointStatus, as far as evidence needs it. */
export interface CloseCheckpoint {
  checkpointId: string;
  state: string;
  decisions: {
    at: string;
    approverId: string;
    role: string;
    decision: string;
    comments?: string;
    round?: number;
    level?: number;
    onBehalfOf?: string;
    signed?: boolean;
    nonce?: string;
  }[];
  refusals: { at: string; approverId: string; role: string; reason: string; message?: string }[];
  item?: { type?: string; amount?: string; currency?: string; preparer: string; ref?: string };
  rounds?: {
    round: number;
    status: string;
    openedAt: string;
    preparerId: string;
    amount?: string;
    levels: { level: number; role: string; limit: string | null; signedBy?: string; onBehalfOf?: string }[];
  }[];
  audit?: { at: string; event: string; actor: string; role?: string }[];
  blockedReason?: string;
}

export interface CloseJournalEntryLike {
  at: string;
  by: string;
  action: string;
  taskId?: string;
  reason?: string;
  accepted?: boolean;
  refusal?: string;
  note?: string;
  to?: string;
  /** attest: the role attested in and the statement (contracts/close.ts CloseJournalEntry). */
  role?: string;
  statement?: string;
  signed?: { kid: string; nonce: string; issuer: string };
}

export interface CloseEvidenceState {
  closeWorkflowId: string;
  company: string;
  period: string;
  taskId: string;
  config: unknown;
  reconciliations: CloseReconciliation[];
  approvals: CloseCheckpoint[];
  journal: CloseJournalEntryLike[];
}

function issues(error: z.ZodError, where: string): string {
  return `${where}: ${error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
}

export function parseCloseEvidenceConfig(config: unknown, where = 'documentation task config'): CloseEvidenceConfig {
  const r = CloseEvidenceConfigSchema.safeParse(config);
  if (!r.success) throw new EvidenceInputError(issues(r.error, where));
  return r.data;
}

/**
 * The control a documentation task documents: its config, completed from the seed's definition of the same
 * regulation and control id where the config leaves a field out. A control the seed does not know must be
 * described in full (description, attestation text and from whom).
 */
export function resolveControl(config: CloseEvidenceConfig, where = 'documentation task config') {
  const known = SEED_CONTROLS[`${config.regulation.toUpperCase()}/${config.controlId}`];
  const att = typeof config.attestation === 'string' ? { text: config.attestation } : config.attestation;
  const raw = {
    regulation: config.regulation,
    controlId: config.controlId,
    description: config.description ?? known?.description,
    evidence: config.evidence ?? known?.evidence ?? ['reconciliation_summary', 'approval_evidence', 'workflow_history'],
    attestationText: config.attestationText ?? att?.text ?? known?.attestationText,
    attestationRequiredFrom:
      config.attestationRequiredFrom ??
      (att && 'requiredFrom' in att ? att.requiredFrom : undefined) ??
      known?.attestationRequiredFrom,
    ...(config.materiality !== undefined ? { materiality: config.materiality } : {}),
  };
  const missing = (['description', 'attestationText', 'attestationRequiredFrom'] as const).filter(
    (k) => raw[k] === undefined,
  );
  if (missing.length)
    throw new EvidenceInputError(
      `${where}: control ${config.regulation} ${config.controlId} is not one finflow knows, so the config must give ` +
        `${missing.join(', ')}`,
    );
  const r = ControlDefinitionSchema.safeParse(raw);
  if (!r.success) throw new EvidenceInputError(issues(r.error, where));
  return r.data;
}

type Check = { held: boolean; detail: string };

const DECIMAL = /^-?\d+(\.\d+)?$/;

function fmt(d: Dec): string {
  return d.toFixed();
}

/** Control totals: each side's amount minus the other's is the difference reported, and the keys fit the records. */
export function checkControlTotals(recons: CloseReconciliation[]): Check {
  if (!recons.length) return { held: false, detail: 'no reconciliation ran in this close' };
  const bad: string[] = [];
  for (const [i, r] of recons.entries()) {
    const where = `reconciliations[${i}] (${r.reconId})`;
    if (r.controlTotals !== undefined && r.controlTotals !== 'balanced')
      bad.push(`${r.reconId}: the engine's control totals are ${r.controlTotals}`);
    if (!DECIMAL.test(r.a.amount) || !DECIMAL.test(r.b.amount) || !DECIMAL.test(r.difference)) {
      // Several currencies: no single total to tie; the engine's per-currency check is the evidence.
      if (r.controlTotals !== 'balanced')
        bad.push(`${r.reconId}: amounts in several currencies and no per-currency control totals from the engine`);
      continue;
    }
    const a = parseDecimal(r.a.amount, `${where}.a.amount`);
    const b = parseDecimal(r.b.amount, `${where}.b.amount`);
    const diff = parseDecimal(r.difference, `${where}.difference`);
    if (!a.minus(b).eq(diff))
      bad.push(
        `${r.reconId}: A ${r.a.amount} - B ${r.b.amount} = ${fmt(a.minus(b))}, but the difference reported is ${r.difference}`,
      );
    const keysA = r.keys.matched + r.keys.amountMismatch + r.keys.missingInB;
    const keysB = r.keys.matched + r.keys.amountMismatch + r.keys.missingInA;
    if (keysA > r.a.records || keysB > r.b.records)
      bad.push(`${r.reconId}: ${keysA}/${keysB} keys out of ${r.a.records}/${r.b.records} records in`);
    const open = r.openExceptions ?? r.keys.amountMismatch + r.keys.missingInA + r.keys.missingInB;
    const expected = open === 0 ? 'balanced' : 'exceptions';
    if (r.status !== expected)
      bad.push(
        `${r.reconId}: status ${r.status} but its ${r.openExceptions === undefined ? 'keys say' : 'open exceptions say'} ${expected}`,
      );
  }
  if (bad.length) return { held: false, detail: bad.join('; ') };
  return {
    held: true,
    detail: `${recons.length} reconciliation(s): amounts in on each side tie to the difference reported, and matched + unmatched keys account for the records in`,
  };
}

function preparerOf(cp: CloseCheckpoint, round?: number): string | undefined {
  const r = cp.rounds?.find((x) => x.round === (round ?? 1)) ?? cp.rounds?.[0];
  return r?.preparerId ?? cp.item?.preparer;
}

const accepted = (cp: CloseCheckpoint) =>
  cp.decisions.filter((d) => d.decision === 'approved' || d.decision === 'rejected');

/** Segregation of duties: no accepted decision by the item's preparer, nobody signing twice in a round, identities proven. */
export function checkSegregationOfDuties(cps: CloseCheckpoint[], journal: CloseJournalEntryLike[] = []): Check {
  if (!cps.length) return { held: false, detail: 'no approval checkpoint ran in this close' };
  const bad: string[] = [];
  const notes: string[] = [];
  bad.push(...explainersWhoApproved(cps, journal, accepted));
  for (const cp of cps) {
    const signers = new Map<string, string>();
    for (const d of accepted(cp)) {
      const preparer = preparerOf(cp, d.round);
      const who = d.onBehalfOf ?? d.approverId;
      if (preparer && (d.approverId === preparer || who === preparer))
        bad.push(`${cp.checkpointId}: ${d.approverId} decided on an item prepared by ${preparer}`);
      const k = `${d.round ?? 1}/${who}`;
      if (signers.has(k)) bad.push(`${cp.checkpointId}: ${who} signed twice in round ${d.round ?? 1}`);
      signers.set(k, d.at);
      if (d.signed === false)
        bad.push(`${cp.checkpointId}: ${d.approverId}'s decision was unsigned (identity claimed, not proven)`);
    }
    const self = cp.refusals.filter((r) => r.reason === 'self_approval').length;
    if (self) notes.push(`${cp.checkpointId}: ${self} self-approval attempt(s) refused`);
  }
  if (bad.length) return { held: false, detail: bad.join('; ') };
  const deciders = cps.flatMap((cp) => accepted(cp).map((d) => `${cp.checkpointId}: ${d.approverId}`));
  return {
    held: true,
    detail:
      `every decision (${deciders.join(', ') || 'none'}) was signed by someone other than the preparer` +
      (notes.length ? `; ${notes.join('; ')}` : ''),
  };
}

/**
 * Approvals within limits: no checkpoint left open or deadlocked, and every approved one signed by someone whose
 * limit covers the item's amount. A rejection approves nothing, so it cannot exceed a limit.
 */
export function checkApprovalsWithinLimits(cps: CloseCheckpoint[]): Check {
  if (!cps.length) return { held: false, detail: 'no approval checkpoint ran in this close' };
  const bad: string[] = [];
  const ok: string[] = [];
  for (const cp of cps) {
    if (cp.state === 'pending') continue; // named by an attempt, never opened: nothing was decided
    if (cp.state === 'rejected') {
      ok.push(`${cp.checkpointId}: rejected (nothing approved)`);
      continue;
    }
    if (cp.state !== 'approved') {
      bad.push(`${cp.checkpointId} is ${cp.state}${cp.blockedReason ? ` (${cp.blockedReason})` : ''}, not decided`);
      continue;
    }
    const round = cp.rounds?.[cp.rounds.length - 1];
    const amount = round?.amount ?? cp.item?.amount;
    if (!amount) {
      ok.push(`${cp.checkpointId}: approved (no amount, no limit applies)`);
      continue;
    }
    const amt = parseDecimal(amount, `${cp.checkpointId} amount`);
    const signed = (round?.levels ?? []).filter((l) => l.signedBy);
    // In a chain the lower levels sign too; the approval's authority is its strongest signer's (null: no limit
    // applies to the role for this item type).
    const covering = signed.find((l) => l.limit === null || parseDecimal(l.limit, `${cp.checkpointId} limit`).gte(amt));
    const who = (l: (typeof signed)[number]) => `${l.signedBy} (${l.role}, limit ${l.limit ?? 'none'})`;
    if (!signed.length) bad.push(`${cp.checkpointId}: approved with no signed level recorded`);
    else if (!covering)
      bad.push(`${cp.checkpointId}: ${amount} exceeds the limit of every signer: ${signed.map(who).join(', ')}`);
    else ok.push(`${cp.checkpointId}: ${amount} within the authority of ${who(covering)}`);
  }
  if (bad.length) return { held: false, detail: bad.join('; ') };
  if (!ok.length) return { held: false, detail: 'no approval checkpoint was decided in this close' };
  return { held: true, detail: ok.join('; ') };
}

function limitOf(cp: CloseCheckpoint, d: CloseCheckpoint['decisions'][number]): string | undefined {
  const round = cp.rounds?.find((r) => r.round === (d.round ?? 1));
  const lvl = round?.levels.find((l) => (d.level ? l.level === d.level : l.signedBy === d.approverId));
  return lvl?.limit ?? undefined;
}

function byTime<T extends { at: string }>(list: T[]): T[] {
  return [...list].sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0));
}

/**
 * The evidence input (domain/compliance/evidence.ts) for the documentation task of a close. `exceptions` and
 * `attachments` come from the caller (the result store and the files it wrote); `asOf` is when the evidence was
 * taken (the close is usually still running: its own documentation task is one of its steps).
 */
export function closeEvidenceInput(
  state: CloseEvidenceState,
  opts: {
    asOf: string;
    closeState?: string;
    startedAt?: string;
    exceptions?: EvidenceInputRaw['exceptions'];
    attachments?: EvidenceInputRaw['attachments'];
    /**
     * The captured attestations with their statements' SHA-256 (the activity hashes them: domain code does no
     * crypto); default: the journal's accepted, signed attest entries of this task, without a digest.
     */
    attestations?: EvidenceInputRaw['attestations'];
  },
): EvidenceInputRaw {
  const config = parseCloseEvidenceConfig(state.config, `task ${state.taskId} config`);
  const control = resolveControl(config, `task ${state.taskId} config`);
  const cps = state.approvals;

  const approvals = byTime(
    cps.flatMap((cp) =>
      accepted(cp).map((d) => ({
        checkpointId: cp.checkpointId,
        decision: d.decision as 'approved' | 'rejected',
        approverId: d.approverId,
        role: d.role,
        at: d.at,
        ...(cp.item?.amount ? { amount: cp.item.amount } : {}),
        ...(limitOf(cp, d) ? { limit: limitOf(cp, d) } : {}),
        ...(d.comments !== undefined ? { comments: d.comments } : {}),
        ...(d.signed !== undefined ? { signed: d.signed } : {}),
        ...(d.nonce !== undefined ? { nonce: d.nonce } : {}),
        ...(d.round !== undefined ? { round: d.round } : {}),
        ...(d.level !== undefined ? { level: d.level } : {}),
        ...(d.onBehalfOf !== undefined ? { onBehalfOf: d.onBehalfOf } : {}),
      })),
    ),
  );
  const refusals = byTime(
    cps.flatMap((cp) =>
      cp.refusals.map((r) => ({
        checkpointId: cp.checkpointId,
        approverId: r.approverId || '(unknown)',
        role: r.role ?? '',
        at: r.at,
        reason: r.message ? `${r.reason}: ${r.message}` : r.reason,
      })),
    ),
  );

  const firstRound = byTime(
    cps.flatMap((cp) => (cp.rounds ?? []).map((r) => ({ at: r.openedAt, id: r.preparerId, cp }))),
  )[0];
  const submittedRole = firstRound?.cp.audit?.find((a) => a.event === 'submitted' && a.actor === firstRound.id)?.role;
  const preparedBy = config.preparedBy
    ? { id: config.preparedBy.id, role: config.preparedBy.role, at: config.preparedBy.at ?? opts.asOf }
    : firstRound
      ? { id: firstRound.id, role: submittedRole ?? 'preparer', at: firstRound.at }
      : { id: 'finflow', role: 'system', at: opts.asOf };
  const lastApproval = [...approvals].reverse().find((a) => a.decision === 'approved');
  const reviewedBy = config.reviewedBy
    ? { id: config.reviewedBy.id, role: config.reviewedBy.role, at: config.reviewedBy.at ?? opts.asOf }
    : lastApproval
      ? { id: lastApproval.approverId, role: lastApproval.role, at: lastApproval.at }
      : undefined;

  const closeJournal: CloseJournalEvidence[] = state.journal.map((j) => ({
    at: j.at,
    by: j.by,
    action: j.action,
    ...(j.taskId !== undefined ? { taskId: j.taskId } : {}),
    ...(j.reason !== undefined ? { reason: j.reason } : {}),
    ...(j.accepted !== undefined ? { accepted: j.accepted } : {}),
    ...(j.refusal !== undefined ? { refusal: j.refusal } : {}),
    ...(j.note !== undefined ? { note: j.note } : {}),
    ...(j.to !== undefined ? { to: j.to } : {}),
  }));

  return {
    control,
    close: {
      closeId: state.closeWorkflowId,
      company: state.company,
      period: state.period,
      state: opts.closeState ?? 'running',
      ...(opts.startedAt ? { startedAt: opts.startedAt } : {}),
      completedAt: opts.asOf,
    },
    preparedBy,
    ...(reviewedBy ? { reviewedBy } : {}),
    reconciliations: state.reconciliations.map((r) => ({
      reconId: r.reconId,
      ...(r.name ? { name: r.name } : {}),
      status: r.status,
      a: { records: r.a.records, amount: r.a.amount },
      b: { records: r.b.records, amount: r.b.amount },
      keys: {
        matched: r.keys.matched,
        amountMismatch: r.keys.amountMismatch,
        missingInA: r.keys.missingInA,
        missingInB: r.keys.missingInB,
      },
      difference: r.difference,
      ...(r.exceptions !== undefined ? { exceptions: r.exceptions } : {}),
      ...(r.openExceptions !== undefined ? { openExceptions: r.openExceptions } : {}),
    })),
    exceptions: opts.exceptions ?? [],
    approvals,
    refusals,
    controls: {
      controlTotalsBalanced: checkControlTotals(state.reconciliations),
      segregationOfDuties: checkSegregationOfDuties(cps, state.journal),
      approvalsWithinLimits: checkApprovalsWithinLimits(cps),
    },
    // Given in the config (a package made outside a close), and captured: the accepted, signed attest actions.
    attestations: [
      ...(config.attestations ?? []),
      ...(opts.attestations ??
        attestationsOf(state.journal, state.taskId).map((a) => ({
          id: a.id,
          role: a.role,
          at: a.at,
          statement: a.statement,
        }))),
    ],
    attachments: opts.attachments ?? [],
    closeJournal,
  };
}
