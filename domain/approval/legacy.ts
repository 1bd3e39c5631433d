// Turning an approval task's config into what the checkpoint rules take: the item a preparer submits, and, for the
// older slice shape ({ role, escalation } and no item, development only), a policy of its own whose approvers are
// the roles of its escalation ladder and whose users are placeholders (`legacy:<role>`), never notified.
import { LEGACY_PREFIX, LEGACY_PREPARER, type EvidenceRef } from './decision';
import type { ApprovalPolicyInput } from './policy';
import type { SubmissionInput } from './rules';

/** An approval task's item, as the plan writes it. */
export interface ApprovalItemInput {
  amount?: string | number;
  currency?: string;
  preparer: string;
  ref?: string;
  description?: string;
  evidence?: EvidenceRef[];
  resolution?: string;
}

/** The slice shape of an approval task: the role that approves first and the roles its escalation adds. */
export interface LegacyApprovalConfig {
  checkpointId: string;
  role?: unknown;
  escalation?: { timeout: string; path: unknown };
}

const unique = (xs: string[]): string[] => xs.filter((x, i) => xs.indexOf(x) === i);

/** The policy of a slice-shape checkpoint (to be parsed with parseApprovalPolicy, which names what is wrong). */
export function legacyPolicyInput(config: LegacyApprovalConfig): ApprovalPolicyInput {
  const esc = config.escalation ?? { timeout: '', path: [] };
  const path = Array.isArray(esc.path) ? (esc.path as string[]) : [];
  const ladder = unique([String(config.role), ...path]);
  return {
    roles: [
      { name: 'legacy-preparer', can_prepare: ['approval'] },
      ...ladder.map((name) => ({ name, can_approve: ['approval'] })),
    ],
    users: [
      { userId: LEGACY_PREPARER, roles: ['legacy-preparer'] },
      ...ladder.map((r) => ({ userId: `${LEGACY_PREFIX}${r}`, roles: [r] })),
    ],
    checkpoints: [
      {
        id: config.checkpointId,
        item_type: 'approval',
        required_roles: [String(config.role)],
        escalation: { timeout: esc.timeout, escalation_path: esc.path },
      },
    ],
  } as ApprovalPolicyInput;
}

/** The submission of a plan's item; a whole-number amount written as a number is read as its decimal text. */
export function submissionOfItem(item: ApprovalItemInput): SubmissionInput {
  const amount =
    typeof item.amount === 'number' && Number.isSafeInteger(item.amount) ? String(item.amount) : item.amount;
  // Through JSON: fields left undefined disappear, as they would crossing a payload.
  return JSON.parse(
    JSON.stringify({
      preparerId: item.preparer,
      amount,
      currency: item.currency,
      itemRef: item.ref,
      description: item.description,
      evidence: item.evidence ?? [],
      resolution: item.resolution,
    }),
  ) as SubmissionInput;
}
