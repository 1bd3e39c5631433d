// Notifications of an approval checkpoint (approval requested, reminders, escalations, outcomes): each goes to the
// outbox table through an activity, in order, and on to a webhook when the worker has one. A notification that
// cannot be written is counted and shown in the checkpoint's status; it never holds the checkpoint up.
import { log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ApprovalActivities, NotificationKind, OutboxNotification } from '../../activities/approval';
import {
  currentRound,
  eligibleApprovers,
  LEGACY_PREFIX,
  nextEscalationStep,
  openLevel,
  type CheckpointState,
} from '../../domain/approval';
import { causeMessage, unique, USER_ID, type Instance } from './instance';

// The outbox insert is idempotent by its key, so retries are safe; bounded so that a database down for good is
// recorded as a failed notification (and shown in the status) instead of holding the checkpoint.
const outbox = proxyActivities<ApprovalActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 20 },
});
// A webhook may be down for hours; the outbox row stays for polling, so delivery is retried with a long backoff
// and never waited for. A receiver that refuses the call (4xx) is not retried.
const webhook = proxyActivities<ApprovalActivities>({
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '10m',
    maximumAttempts: 12,
    nonRetryableErrorTypes: ['WebhookRejected'],
  },
});

export interface Notifier {
  notify(
    inst: Instance,
    kind: NotificationKind,
    level: number,
    recipients: string[],
    roles: string[],
    subject: string,
    extra?: OutboxNotification['body'],
  ): void;
  /** Asks the open level's eligible approvers to decide. */
  requestApprovers(inst: Instance): void;
  /** "journal_entry JE-7 75000.00 EUR": the item as a notification names it. */
  itemText(st: CheckpointState): string;
  /** Resolves once every notification so far is in the outbox (or counted as failed). */
  settled(): Promise<void>;
}

export function createNotifier(now: () => string): Notifier {
  let outboxChain: Promise<void> = Promise.resolve();

  function notify(
    inst: Instance,
    kind: NotificationKind,
    level: number,
    recipients: string[],
    roles: string[],
    subject: string,
    extra: OutboxNotification['body'] = {},
  ): void {
    const st = inst.state!;
    const round = currentRound(st);
    const n: OutboxNotification = {
      workflowId: workflowInfo().workflowId,
      runId: workflowInfo().firstExecutionRunId,
      checkpointId: inst.checkpointId,
      round: round.round,
      kind,
      level,
      recipients: unique(recipients.filter((r) => USER_ID.test(r) && !r.startsWith(LEGACY_PREFIX))),
      roles: unique(roles),
      subject,
      body: {
        checkpointId: inst.checkpointId,
        itemType: st.itemType,
        round: round.round,
        status: st.status,
        preparerId: round.submission.preparerId,
        ...(round.submission.itemRef ? { itemRef: round.submission.itemRef } : {}),
        ...(round.submission.amount ? { amount: round.submission.amount } : {}),
        ...(round.submission.currency ? { currency: round.submission.currency } : {}),
        ...extra,
      },
    };
    outboxChain = outboxChain.then(async () => {
      try {
        const r = await outbox.enqueueApprovalNotification(n);
        inst.notifications.queued += 1;
        if (r.webhookError) {
          inst.notifications.failed += 1;
          inst.notifications.lastError = `webhook for notification ${r.id}: ${r.webhookError}`;
        }
        if (r.webhook)
          void webhook.deliverApprovalWebhook({ id: r.id }).catch((err: unknown) => {
            inst.notifications.failed += 1;
            inst.notifications.lastError = `webhook for notification ${r.id}: ${causeMessage(err)}`;
          });
      } catch (err) {
        inst.notifications.failed += 1;
        inst.notifications.lastError = `${kind}: ${causeMessage(err)}`;
        log.warn('approval notification not written', { checkpointId: inst.checkpointId, kind });
      }
    });
  }

  function itemText(st: CheckpointState): string {
    const s = currentRound(st).submission;
    const amount = s.amount ? ` ${s.amount}${s.currency ? ` ${s.currency}` : ''}` : '';
    return `${st.itemType}${s.itemRef ? ` ${s.itemRef}` : ''}${amount}`;
  }

  function requestApprovers(inst: Instance): void {
    const st = inst.state!;
    const lvl = openLevel(st);
    if (!lvl) return;
    const who = eligibleApprovers(inst.policy!, st, now());
    const round = currentRound(st);
    notify(
      inst,
      'approval_requested',
      lvl.level,
      who.users.map((u) => u.userId),
      who.roles,
      `Approval needed: ${inst.checkpointId} round ${round.round}, level ${lvl.level} of ${round.levels.length} (${lvl.role}): ${itemText(st)}`,
      {
        level: lvl.level,
        of: round.levels.length,
        role: lvl.role,
        dueAt: nextEscalationStep(inst.policy!, st)?.dueAt ?? null,
      },
    );
  }

  return { notify, requestApprovers, itemText, settled: () => outboxChain };
}
