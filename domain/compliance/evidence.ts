// The evidence package's machine-readable document (evidence.json), versioned, and the input it is built from.
// Pure and deterministic: the same input gives the same document byte for byte, which is what lets an
// interrupted generation resume and still produce the same signed manifest. Nothing here reads a clock: every
// instant in the document comes from the input (when the close finished, when someone approved).
import { z } from 'zod';
import { Dec, parseDecimal } from '../money';
import { ControlDefinitionSchema, BUILT_IN_EVIDENCE, type ControlDefinition } from './control';
import { attestationCheck, exceptionsExplainedCheck } from './conclusion-checks';
import { ExceptionViewSchema, VIEWED_SCHEMA_VERSION } from './exception-view';

export const EVIDENCE_SCHEMA = 'finflow.evidence-package';
/** Bump on any change a reader must know about; readers refuse versions they do not know. */
export const EVIDENCE_SCHEMA_VERSION = 1;

const isoInstant = z.iso.datetime({ offset: true, message: 'an ISO 8601 instant, e.g. 2026-11-03T17:00:00Z' });
const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, 'a decimal amount written as a string, e.g. "1234.50"');
const count = z.int().min(0);
/** A side's total, or 'multi-currency' where the side holds several (adding currencies would be a wrong total). */
export const MULTI_CURRENCY = 'multi-currency';
const sideAmount = decimal.or(z.literal(MULTI_CURRENCY));
const text = z.string().trim().min(1);
const roleName = z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'a role is letters, digits, ".", "_" or "-"');
const kind = z.string().regex(/^[a-z][a-z0-9_]*$/, 'a kind is lower-case letters, digits and "_"');

export const PersonActSchema = z.object({ id: text, role: roleName, at: isoInstant }).strict();
export type PersonAct = z.infer<typeof PersonActSchema>;

export const ReconciliationEvidenceSchema = z
  .object({
    reconId: text,
    name: z.string().optional(),
    status: z.enum(['balanced', 'exceptions']),
    a: z.object({ records: count, amount: sideAmount }).strict(),
    b: z.object({ records: count, amount: sideAmount }).strict(),
    keys: z.object({ matched: count, amountMismatch: count, missingInA: count, missingInB: count }).strict(),
    difference: sideAmount,
    /** The engine's exceptions of every category, and the open ones (absent for the legacy table comparison). */
    exceptions: count.optional(),
    openExceptions: count.optional(),
  })
  .strict();
export type ReconciliationEvidence = z.infer<typeof ReconciliationEvidenceSchema>;

// carried_forward: explained, and carried into the next period's reconciliation (issue 15).
export const RESOLUTION_STATUSES = [
  'open',
  'resolved',
  'adjusted',
  'waived',
  'written_off',
  'carried_forward',
] as const;

export const ExceptionEvidenceSchema = z
  .object({
    id: text,
    reconId: text,
    key: z.string(),
    category: kind,
    amountA: decimal.nullable(),
    amountB: decimal.nullable(),
    difference: decimal,
    resolution: z
      .object({
        status: z.enum(RESOLUTION_STATUSES),
        by: z.string().min(1).nullable().default(null),
        at: isoInstant.nullable().default(null),
        note: z.string().nullable().default(null),
        /** e.g. the adjusting journal entry's number. */
        reference: z.string().nullable().default(null),
      })
      .strict()
      .refine((r) => r.status === 'open' || (r.by !== null && r.at !== null), {
        message: 'a resolved exception needs who resolved it (by) and when (at)',
      }),
  })
  .strict();
export type ExceptionEvidence = z.output<typeof ExceptionEvidenceSchema>;

/** An exception as evidence.json holds it: in clear, or as its reader role sees it (`view`, exception-view.ts). */
export const DocumentExceptionSchema = ExceptionEvidenceSchema.extend({
  key: z.string(),
  amountA: z.string().nullable(),
  amountB: z.string().nullable(),
  difference: z.string(),
  view: ExceptionViewSchema.optional(),
}).refine(
  (e) => e.view || [e.amountA, e.amountB, e.difference].every((v) => v === null || decimal.safeParse(v).success),
  {
    message: 'an exception shown in clear has decimal amounts',
  },
);
export type DocumentException = z.output<typeof DocumentExceptionSchema>;

export const ApprovalEvidenceSchema = z
  .object({
    checkpointId: text,
    decision: z.enum(['approved', 'rejected']),
    approverId: text,
    role: roleName,
    at: isoInstant,
    amount: decimal.optional(),
    limit: decimal.optional(),
    comments: z.string().optional(),
    /**
     * Proof of identity: true when the decision came as a token signed by the approval gateway and verified by the
     * close, false for an unsigned decision counted in development mode. Absent in packages made before it existed.
     */
    signed: z.boolean().optional(),
    /** The signed token's nonce: finds the approval signal (with its token) in the exported workflow history. */
    nonce: z.string().optional(),
    round: z.int().min(1).optional(),
    level: z.int().min(1).optional(),
    onBehalfOf: z.string().optional(),
  })
  .strict();

export const RefusalEvidenceSchema = z
  .object({ checkpointId: text, approverId: text, role: z.string(), at: isoInstant, reason: text })
  .strict();

/** One action on the close itself (waive, rerun, skip, reassign...): the close-level exception handling. */
export const CloseJournalEvidenceSchema = z
  .object({
    at: isoInstant,
    by: text,
    action: text,
    taskId: z.string().optional(),
    reason: z.string().optional(),
    /** false: the close refused the action (`refusal` says why); absent or true: it was carried out. */
    accepted: z.boolean().optional(),
    refusal: z.string().optional(),
    note: z.string().optional(),
    /** The new owner, for a reassignment. */
    to: z.string().optional(),
  })
  .strict();
export type CloseJournalEvidence = z.infer<typeof CloseJournalEvidenceSchema>;

const controlCheck = z.object({ held: z.boolean(), detail: text }).strict();
export const ControlsValidatedSchema = z
  .object({
    controlTotalsBalanced: controlCheck,
    segregationOfDuties: controlCheck,
    approvalsWithinLimits: controlCheck,
  })
  .strict();

export const AttachmentInputSchema = z
  .object({
    kind,
    /** Where the file is now (an xlsx report, the exported history). */
    path: text,
    /** `copy` puts the file in the package; `reference` records its path and hash only (for very large files). */
    mode: z.enum(['copy', 'reference']).default('copy'),
    description: z.string().optional(),
  })
  .strict();

export const EvidenceInputSchema = z
  .object({
    control: ControlDefinitionSchema,
    close: z
      .object({
        closeId: text,
        company: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a company code is letters, digits, ".", "_", "-"'),
        period: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a period is letters, digits, ".", "_", "-"'),
        state: text,
        startedAt: isoInstant.optional(),
        completedAt: isoInstant,
      })
      .strict(),
    preparedBy: PersonActSchema,
    reviewedBy: PersonActSchema.optional(),
    reconciliations: z.array(ReconciliationEvidenceSchema),
    exceptions: z.array(ExceptionEvidenceSchema),
    approvals: z.array(ApprovalEvidenceSchema).default([]),
    refusals: z.array(RefusalEvidenceSchema).default([]),
    controls: ControlsValidatedSchema,
    attestations: z
      .array(
        PersonActSchema.extend({
          statement: z.string().optional(),
          /** SHA-256 (hex) of the statement as signed, for an attestation captured from a signed action. */
          statementSha256: z
            .string()
            .regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lowercase hex')
            .optional(),
        }).strict(),
      )
      .default([]),
    attachments: z.array(AttachmentInputSchema).default([]),
    /** The close's journal of actions on tasks; absent for a package made outside a close. */
    closeJournal: z.array(CloseJournalEvidenceSchema).optional(),
  })
  .strict();
export type EvidenceInput = z.output<typeof EvidenceInputSchema>;
export type EvidenceInputRaw = z.input<typeof EvidenceInputSchema>;

export const AttachmentRecordSchema = z
  .object({
    kind,
    mode: z.enum(['copy', 'reference']),
    /** Path inside the package for a copy; null for a reference. */
    file: z.string().nullable(),
    /** The original location, recorded for a reference only (a copy's origin is machine-specific noise). */
    source: z.string().nullable(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    bytes: count,
    description: z.string().nullable(),
  })
  .strict();
export type AttachmentRecord = z.infer<typeof AttachmentRecordSchema>;

export const EvidenceDocumentSchema = z
  .object({
    schema: z.literal(EVIDENCE_SCHEMA),
    schemaVersion: z.union([z.literal(EVIDENCE_SCHEMA_VERSION), z.literal(VIEWED_SCHEMA_VERSION)]),
    packageId: text,
    control: ControlDefinitionSchema,
    close: EvidenceInputSchema.shape.close,
    preparedBy: PersonActSchema,
    reviewedBy: PersonActSchema.nullable(),
    population: z
      .object({
        reconciliations: z.array(ReconciliationEvidenceSchema.extend({ exceptionsListed: count }).strict()),
        totals: z
          .object({
            reconciliations: count,
            balanced: count,
            withExceptions: count,
            recordsA: count,
            recordsB: count,
            amountA: sideAmount,
            amountB: sideAmount,
            matchedKeys: count,
            exceptionKeys: count,
          })
          .strict(),
      })
      .strict(),
    exceptions: z
      .object({
        count,
        open: count,
        byCategory: z.record(z.string(), count),
        byResolution: z.record(z.string(), count),
        items: z.array(DocumentExceptionSchema),
      })
      .strict(),
    approvals: z
      .object({ decisions: z.array(ApprovalEvidenceSchema), refusals: z.array(RefusalEvidenceSchema) })
      .strict(),
    controlsValidated: ControlsValidatedSchema.extend({
      exceptionsAccountedFor: controlCheck,
      // Optional only so that packages made before these checks existed still read; every new package has both.
      attestationGiven: controlCheck.optional(),
      exceptionsExplained: controlCheck.optional(),
    }).strict(),
    allControlsHeld: z.boolean(),
    attestation: z
      .object({
        text,
        requiredFrom: z.array(roleName),
        given: EvidenceInputSchema.shape.attestations,
        missingFrom: z.array(roleName),
      })
      .strict(),
    evidence: z.array(z.object({ kind, satisfiedBy: z.array(z.string()).min(1) }).strict()),
    attachments: z.array(AttachmentRecordSchema),
    closeJournal: z.array(CloseJournalEvidenceSchema).optional(),
  })
  .strict();
export type EvidenceDocument = z.output<typeof EvidenceDocumentSchema>;

function issuesText(error: z.ZodError, where: string): string {
  const shown = error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  const more = error.issues.length > 10 ? `; and ${error.issues.length - 10} more` : '';
  return `${where}: ${shown.join('; ')}${more}`;
}

export class EvidenceInputError extends Error {
  override name = 'EvidenceInputError';
}

export function parseEvidenceInput(input: unknown, where = 'evidence input'): EvidenceInput {
  const r = EvidenceInputSchema.safeParse(input);
  if (!r.success) throw new EvidenceInputError(issuesText(r.error, where));
  return r.data;
}

export function parseEvidenceDocument(input: unknown, where = 'evidence.json'): EvidenceDocument {
  if (typeof input === 'object' && input !== null) {
    const v = (input as { schemaVersion?: unknown }).schemaVersion;
    if (v !== EVIDENCE_SCHEMA_VERSION && v !== VIEWED_SCHEMA_VERSION)
      throw new EvidenceInputError(
        `${where}: schemaVersion ${JSON.stringify(v)} is not one this finflow reads (${EVIDENCE_SCHEMA_VERSION}, ${VIEWED_SCHEMA_VERSION})`,
      );
  }
  const r = EvidenceDocumentSchema.safeParse(input);
  if (!r.success) throw new EvidenceInputError(issuesText(r.error, where));
  return r.data;
}

/** One package per control per close; the id names its directory, so it keeps to a file-name-safe alphabet. */
export function evidencePackageId(
  control: Pick<ControlDefinition, 'regulation' | 'controlId'>,
  close: {
    company: string;
    period: string;
  },
): string {
  return [control.regulation, control.controlId, close.company, close.period]
    .map((p) => p.replace(/[^A-Za-z0-9._-]+/g, '-'))
    .join('_');
}

function tally(values: Iterable<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  // Sorted keys, so the document does not depend on the order exceptions arrived in.
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Builds evidence.json from a validated input and the records of its attachments (hashed by the caller, who does
 * the I/O). Refuses an input whose parts do not fit together (an exception of an unknown reconciliation, evidence
 * the control requires but nobody supplied), naming the item.
 */
export function buildEvidenceDocument(input: EvidenceInput, attachments: AttachmentRecord[]): EvidenceDocument {
  const packageId = evidencePackageId(input.control, input.close);
  const recons = new Map<string, number>();
  input.reconciliations.forEach((r, i) => {
    if (recons.has(r.reconId))
      throw new EvidenceInputError(`reconciliations[${i}]: reconciliation ${r.reconId} is listed twice`);
    recons.set(r.reconId, 0);
  });
  const ids = new Set<string>();
  input.exceptions.forEach((e, i) => {
    if (!recons.has(e.reconId))
      throw new EvidenceInputError(`exceptions[${i}] (${e.id}): reconciliation ${e.reconId} is not in the population`);
    if (ids.has(e.id)) throw new EvidenceInputError(`exceptions[${i}]: exception id ${e.id} is listed twice`);
    ids.add(e.id);
    recons.set(e.reconId, (recons.get(e.reconId) ?? 0) + 1);
  });

  let amountA = new Dec(0);
  let amountB = new Dec(0);
  // Totals keep the widest scale of their inputs: 1250000.50 + 1250001.50 is 2500002.00, not 2500002.
  let scale = 0;
  const places = (s: string) => (s.includes('.') ? s.length - s.indexOf('.') - 1 : 0);
  const totals = { recordsA: 0, recordsB: 0, matchedKeys: 0, exceptionKeys: 0, balanced: 0 };
  const unaccounted: string[] = [];
  let multiA = false;
  let multiB = false;
  const reconciliations = input.reconciliations.map((r, i) => {
    if (r.a.amount === MULTI_CURRENCY) multiA = true;
    else amountA = amountA.plus(parseDecimal(r.a.amount, `reconciliations[${i}].a.amount`));
    if (r.b.amount === MULTI_CURRENCY) multiB = true;
    else amountB = amountB.plus(parseDecimal(r.b.amount, `reconciliations[${i}].b.amount`));
    scale = Math.max(scale, places(r.a.amount), places(r.b.amount));
    totals.recordsA += r.a.records;
    totals.recordsB += r.b.records;
    totals.matchedKeys += r.keys.matched;
    const keys = r.exceptions ?? r.keys.amountMismatch + r.keys.missingInA + r.keys.missingInB;
    totals.exceptionKeys += keys;
    if (r.status === 'balanced') totals.balanced++;
    const listed = recons.get(r.reconId) ?? 0;
    if (listed !== keys) unaccounted.push(`${r.reconId}: ${keys} exception keys, ${listed} exceptions listed`);
    return { ...r, exceptionsListed: listed };
  });

  const attachmentKinds = new Map<string, string[]>();
  for (const a of attachments) {
    const where = a.file ?? a.source ?? a.kind;
    attachmentKinds.set(a.kind, [...(attachmentKinds.get(a.kind) ?? []), where]);
  }
  const builtIn: Record<string, string[]> = {
    reconciliation_summary: input.reconciliations.length ? ['evidence.json#/population'] : [],
    exception_report: ['evidence.json#/exceptions'],
    exception_handling: [
      'evidence.json#/exceptions/items/resolution',
      ...(input.closeJournal?.length ? ['evidence.json#/closeJournal'] : []),
    ],
    approval_evidence: input.approvals.length ? ['evidence.json#/approvals'] : [],
    workflow_history: [],
  };
  const missing: string[] = [];
  const evidence = input.control.evidence.map((k) => {
    const satisfiedBy = [
      ...((BUILT_IN_EVIDENCE as readonly string[]).includes(k) ? builtIn[k] : []),
      ...(attachmentKinds.get(k) ?? []),
    ];
    if (!satisfiedBy.length) missing.push(k);
    return { kind: k, satisfiedBy };
  });
  if (missing.length)
    throw new EvidenceInputError(
      `control ${input.control.controlId} requires evidence that was not supplied: ${missing.join(', ')}` +
        ` (give it as data or as an attachment of that kind)`,
    );

  const controlsValidated: EvidenceDocument['controlsValidated'] = {
    ...input.controls,
    exceptionsAccountedFor: unaccounted.length
      ? { held: false, detail: `exceptions listed do not match the reconciliations' counts: ${unaccounted.join('; ')}` }
      : {
          held: true,
          detail: `every one of ${totals.exceptionKeys} exception keys in ${input.reconciliations.length} reconciliations is listed`,
        },
  };
  const given = input.attestations;
  const missingFrom = input.control.attestationRequiredFrom.filter((r) => !given.some((g) => g.role === r));
  controlsValidated.attestationGiven = attestationCheck(input.control.attestationRequiredFrom, given, missingFrom);
  controlsValidated.exceptionsExplained = exceptionsExplainedCheck(input);
  const doc: EvidenceDocument = {
    schema: EVIDENCE_SCHEMA,
    schemaVersion: EVIDENCE_SCHEMA_VERSION,
    packageId,
    control: input.control,
    close: input.close,
    preparedBy: input.preparedBy,
    reviewedBy: input.reviewedBy ?? null,
    population: {
      reconciliations,
      totals: {
        reconciliations: reconciliations.length,
        balanced: totals.balanced,
        withExceptions: reconciliations.length - totals.balanced,
        recordsA: totals.recordsA,
        recordsB: totals.recordsB,
        amountA: multiA ? MULTI_CURRENCY : amountA.toFixed(scale),
        amountB: multiB ? MULTI_CURRENCY : amountB.toFixed(scale),
        matchedKeys: totals.matchedKeys,
        exceptionKeys: totals.exceptionKeys,
      },
    },
    exceptions: {
      count: input.exceptions.length,
      open: input.exceptions.filter((e) => e.resolution.status === 'open').length,
      byCategory: tally(input.exceptions.map((e) => e.category)),
      byResolution: tally(input.exceptions.map((e) => e.resolution.status)),
      items: input.exceptions,
    },
    approvals: { decisions: input.approvals, refusals: input.refusals },
    controlsValidated,
    allControlsHeld: Object.values(controlsValidated).every((c) => c.held),
    attestation: {
      text: input.control.attestationText,
      requiredFrom: input.control.attestationRequiredFrom,
      given,
      missingFrom,
    },
    evidence,
    attachments,
    ...(input.closeJournal ? { closeJournal: input.closeJournal } : {}),
  };
  return doc;
}
