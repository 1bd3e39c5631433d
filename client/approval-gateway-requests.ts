// The request bodies and queries the approval gateway takes (approval-gateway.ts), each a strict zod schema: a field
// the gateway does not know is refused, and who acts is never among them (it comes from the identity provider).
import { z } from 'zod';
import { EvidenceRefSchema } from '../domain/approval';

const Id = z.string().min(1).max(256);
const Text = z.string().max(4000);

export const ApprovalRequest = z.strictObject({
  workflowId: Id,
  checkpointId: z.string().min(1).max(128),
  decision: z.enum(['approved', 'rejected']),
  round: z.number().int().min(1).optional(),
  level: z.number().int().min(1).optional(),
  onBehalfOf: Id.optional(),
  comments: Text.optional(),
  evidence: z.array(EvidenceRefSchema).max(50).default([]),
  resolution: Text.optional(),
  mode: z.enum(['update', 'signal']).default('update'),
});

export const ResubmissionRequest = z.strictObject({
  workflowId: Id,
  checkpointId: z.string().min(1).max(128),
  round: z.number().int().min(2).optional(),
  amount: z.string().max(64).optional(),
  currency: z.string().optional(),
  itemRef: z.string().min(1).max(256).optional(),
  description: Text.optional(),
  evidence: z.array(EvidenceRefSchema).max(50).default([]),
  resolution: Text.optional(),
});

/** A task action by the caller (who is `by`: never taken from the body). */
export const TaskActionRequest = z.strictObject({
  workflowId: Id,
  action: z.enum(['complete', 'rerun', 'waive', 'reassign', 'skip', 'pause', 'resume', 'attest']),
  taskId: z.string().min(1).max(256).optional(),
  reason: Text.optional(),
  to: Id.optional(),
  note: Text.optional(),
  /** attest: the exact attestation text the documentation task's status shows. */
  statement: z.string().min(1).max(8000).optional(),
});

export const ExceptionActionRequest = z.strictObject({
  workflowId: Id,
  /** The reconciliation task's id (or its reconciliation id). */
  task: Id,
  reconId: Id,
  runId: z.string().min(1).max(1024),
  /** { action: 'explain', reasonCode, text } | { action: 'resolve', kind, text, reference?, amount? } | ... */
  action: z.record(z.string(), z.unknown()),
  itemIds: z.array(z.string().min(1).max(512)).min(1).max(100_000),
  /** The count and per-currency totals the person saw: the close refuses the action if the items no longer add up. */
  count: z.int().min(1),
  totals: z.array(z.strictObject({ currency: z.string().nullable(), total: z.string() })),
  filter: z.record(z.string(), z.unknown()).optional(),
});

/** The preparer's certification that a reconciliation is complete (POST /certifications). */
export const CertificationRequest = z.strictObject({
  workflowId: Id,
  /** The reconciliation task's id (or its reconciliation id). */
  task: Id,
  reconId: Id,
  runId: z.string().min(1).max(1024),
  /** What is certified, e.g. "all exceptions explained; reconciliation complete". */
  text: z.string().trim().min(1).max(4096),
  /** The count and per-currency totals of the run's exceptions the preparer saw: refused if they no longer add up. */
  count: z.int().min(0),
  totals: z.array(z.strictObject({ currency: z.string().nullable(), total: z.string() })),
});

export const AttachmentQuery = z.strictObject({ kind: z.string().min(1).max(64), name: z.string().min(1).max(255) });

export const NotificationsQuery = z.strictObject({
  approver: Id.optional(),
  afterId: z
    .string()
    .regex(/^\d{1,18}$/, 'must be a notification id')
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  workflowId: Id.optional(),
});
