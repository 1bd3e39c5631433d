// `finflow approve`, `finflow approval ...`: an operator's side of approval checkpoints.
//
// Identity is proven, not claimed: a decision counts only as a token signed with a key the workers trust. Approver
// apps get theirs signed by the approval gateway (client/approval-gateway.ts) after it authenticates the approver;
// an operator who holds a signing key file (`finflow approval keys init`, its public half in the workers'
// FINFLOW_APPROVAL_JWKS_FILE) signs here, for the approver named with --by, and answers for it. Without a key the
// decision is sent unsigned, and the workflow refuses it (recorded as `unsigned`) unless it was started with
// allowUnsignedApprovals, for development only.
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { APPROVAL_AUDIENCE, CLI_ISSUER } from '../../activities/approval/keys';
import { createApprovalKeyFiles, readSigningKeyFile } from '../../activities/approval/keys';
import { signResubmission } from '../../activities/approval/resubmission';
import type { ApprovalSigningKey } from '../../activities/approval/signing';
import { findUser, normaliseApprovalPolicyKeys, parseApprovalPolicy, type EvidenceRef } from '../../domain/approval';
import {
  approvalSignal,
  approvalsQuery,
  resubmitSignal,
  submitApprovalUpdate,
  submitResubmissionUpdate,
  type ApprovalAnswer,
  type ApprovalSignal,
  type ResubmitSignal,
} from '../../workflows/definitions';
import type { ApprovalsStatus } from '../../workflows/types';
import { approvalDecisionPayload, checkpointOf, sendApprovalUpdate } from '../approval-decision';
import { attachEvidence } from '../approval-attachments';
import { connectClient } from '../connect';
import { registerDelegateCommand } from './approval-delegate';
import { readCasedDocument } from '../../activities/document-file';

type Out = (line: string) => void;

interface DecisionOptions {
  checkpoint: string;
  by: string;
  reject?: boolean;
  comment?: string;
  evidence?: string[];
  attach?: string[];
  resolution?: string;
  round?: string;
  level?: string;
  onBehalfOf?: string;
  role?: string;
  signingKey?: string;
  policy?: string;
  signal?: boolean;
  ttl?: string;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** "kind=ref" or "kind=ref#sha256". */
export function parseEvidenceOption(text: string): EvidenceRef {
  const m = /^([^=]+)=([^#]+)(?:#([0-9a-f]{64}))?$/.exec(text);
  if (!m) throw new Error(`--evidence ${text}: expected kind=reference (e.g. bank_statement=store://stmt/2026-10)`);
  return { kind: m[1], ref: m[2], ...(m[3] ? { sha256: m[3] } : {}) };
}

function positiveInt(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(text)) throw new Error(`${name} must be a whole number from 1, got ${text}`);
  return Number(text);
}

function rolesFromPolicy(file: string | undefined, userId: string): string[] {
  if (!file) return [];
  const raw = readCasedDocument(file, normaliseApprovalPolicyKeys, { where: `--policy ${file}` });
  const policy = parseApprovalPolicy(raw, file);
  const user = findUser(policy, userId);
  if (!user) throw new Error(`${userId} is not in the user directory of ${file}`);
  return user.roles;
}

async function signingKey(file: string | undefined, env: NodeJS.ProcessEnv): Promise<ApprovalSigningKey | undefined> {
  const path = file ?? env.FINFLOW_APPROVAL_SIGNING_KEY_FILE?.trim();
  return path ? readSigningKeyFile(path) : undefined;
}

export function formatAnswer(a: ApprovalAnswer): string {
  return a.accepted ? `accepted: ${a.message}` : `refused (${a.reason ?? 'refused'}): ${a.message}`;
}

export function formatApprovals(s: ApprovalsStatus): string {
  const lines = [`${s.workflowId}  approvals`];
  if (s.warning) lines.push(`  !! ${s.warning}`);
  if (s.checkpoints.length === 0) lines.push('  no checkpoint open yet');
  for (const c of s.checkpoints) {
    const lvl = c.openLevel;
    lines.push(
      `  ${c.checkpointId}  ${c.state.toUpperCase()}  round ${c.round ?? '-'}` +
        (c.item
          ? `  ${c.item.type ?? ''}${c.item.ref ? ` ${c.item.ref}` : ''}${c.item.amount ? ` ${c.item.amount}` : ''}${c.item.currency ? ` ${c.item.currency}` : ''} by ${c.item.preparer}`
          : '') +
        (lvl
          ? `  level ${lvl.level}/${lvl.of} (${lvl.role}) may sign: ${lvl.eligibleApprovers.join(', ') || 'nobody'}`
          : '') +
        (c.nextTimer
          ? `  next: ${c.nextTimer.kind}${c.nextTimer.toRole ? ` to ${c.nextTimer.toRole}` : ''} at ${c.nextTimer.dueAt}`
          : '') +
        (c.waitingFor === 'preparer' ? '  waiting for the preparer to resubmit' : ''),
    );
    if (c.blockedReason) lines.push(`    blocked: ${c.blockedReason}`);
    for (const d of c.decisions)
      lines.push(
        `    ${d.decision.padEnd(8)} round ${d.round ?? '-'} level ${d.level ?? '-'} by ${d.approverId}` +
          `${d.onBehalfOf ? ` on behalf of ${d.onBehalfOf}` : ''} (${d.role}${d.viaEscalation ? ', by escalation' : ''})` +
          `${d.signed === false ? ' UNSIGNED' : ''} at ${d.at}`,
      );
    for (const r of c.refusals) lines.push(`    refused  ${r.approverId}: ${r.reason}: ${r.message ?? ''} (${r.at})`);
    for (const e of c.escalations) lines.push(`    escalated to ${e.toRole} at ${e.at}`);
    if (c.notifications?.failed)
      lines.push(`    ${c.notifications.failed} notification(s) failed: ${c.notifications.lastError}`);
  }
  for (const u of s.unrouted) lines.push(`  unrouted: ${u.approverId} -> ${u.checkpointId}: ${u.reason}: ${u.message}`);
  return lines.join('\n');
}

export function registerApprovalCommands(
  program: Command,
  out: Out = (s) => console.log(s),
  env: NodeJS.ProcessEnv = process.env,
): void {
  const conn = () => {
    const o = program.opts<{ address?: string; namespace?: string; taskQueue?: string }>();
    return connectClient({ address: o.address, namespace: o.namespace, taskQueue: o.taskQueue });
  };

  /** The approval signal for the options: signed with the key, or unsigned without one. */
  async function decisionPayload(client: Client, workflowId: string, o: DecisionOptions): Promise<ApprovalSignal> {
    const key = await signingKey(o.signingKey, env);
    if (!key)
      process.stderr.write(
        'finflow: no signing key (--signing-key or FINFLOW_APPROVAL_SIGNING_KEY_FILE): sending UNSIGNED; ' +
          'the workflow refuses it unless it allows unsigned approvals (development only)\n',
      );
    const round = positiveInt(o.round, '--round');
    const level = positiveInt(o.level, '--level');
    return approvalDecisionPayload(
      client,
      workflowId,
      {
        checkpointId: o.checkpoint,
        approverId: o.by,
        decision: o.reject ? 'rejected' : 'approved',
        ...(round ? { round } : {}),
        ...(level ? { level } : {}),
        ...(o.onBehalfOf ? { onBehalfOf: o.onBehalfOf } : {}),
        ...(o.comment !== undefined ? { comments: o.comment } : {}),
        evidence: [...(o.evidence ?? []).map(parseEvidenceOption), ...(await attachEvidence(o.attach ?? [], env))],
        ...(o.resolution !== undefined ? { resolution: o.resolution } : {}),
        ...(key ? { roles: rolesFromPolicy(o.policy, o.by) } : o.role ? { claimedRole: o.role } : {}),
        ...(o.ttl !== undefined ? { ttlSeconds: positiveInt(o.ttl, '--ttl') } : {}),
      },
      key,
    );
  }

  const decisionOptions = (cmd: Command): Command =>
    cmd
      .requiredOption('--checkpoint <id>', 'checkpoint id (as in the approval policy)')
      .requiredOption('--by <userId>', 'the approver (a user of the directory)')
      .option('--reject', 'reject instead of approve (give --comment: why)')
      .option('--comment <text>')
      .option(
        '--evidence <kind=ref>',
        'evidence reference, repeatable (e.g. bank_statement=store://stmt/2026-10)',
        collect,
      )
      .option(
        '--attach <kind=path>',
        'evidence file (png, jpg, pdf, xlsx, csv, txt, eml), repeatable: stored by its SHA-256 in $FINFLOW_ATTACHMENTS_DIR, named in the signed decision, copied into the evidence package',
        collect,
      )
      .option('--resolution <text>', 'how the exceptions were resolved (checkpoints that require one)')
      .option('--round <n>', 'round the decision is for (default: the open round)')
      .option('--level <n>', 'chain level signed (default: the open level)')
      .option('--on-behalf-of <userId>', 'act under a delegation from this user')
      .option('--signing-key <file>', 'private JWK signing key (default $FINFLOW_APPROVAL_SIGNING_KEY_FILE)')
      .option('--policy <file>', "approval policy: records the approver's directory roles in the token")
      .option('--role <role>', 'unsigned only: the role claimed (recorded, never trusted)')
      .option('--ttl <seconds>', 'token lifetime (default 900)');

  decisionOptions(
    program
      .command('approve <workflowId>')
      .description('approve (or --reject) a checkpoint of a close or approval workflow; prints the workflow answer'),
  )
    .option('--signal', 'send as the approval signal (no answer) instead of the submitApproval update')
    .action(async (workflowId: string, o: DecisionOptions) => {
      const { client, close } = await conn();
      try {
        const payload = await decisionPayload(client, workflowId, o);
        const what = `${o.reject ? 'rejection' : 'approval'} of ${o.checkpoint} on ${workflowId} by ${o.by}`;
        const how = payload.token ? 'signed' : 'UNSIGNED';
        if (o.signal) {
          await client.workflow.getHandle(workflowId).signal(approvalSignal, payload);
          out(`sent ${what} (${how}, round ${payload.round})`);
          return;
        }
        const answer = await sendApprovalUpdate(client, workflowId, submitApprovalUpdate, payload);
        out(`${what} (${how}, round ${payload.round}): ${formatAnswer(answer)}`);
        if (!answer.accepted) process.exitCode = 2;
      } finally {
        await close();
      }
    });

  const approval = program.command('approval').description('approval checkpoints: status, signing, resubmission, keys');
  approval
    .command('status <workflowId>')
    .description('checkpoints of a close or approval workflow: rounds, levels, who may sign, timers, trail')
    .option('--json', 'print the raw status object')
    .action(async (workflowId: string, o: { json?: boolean }) => {
      const { client, close } = await conn();
      try {
        const s = await client.workflow.getHandle(workflowId).query(approvalsQuery);
        out(o.json ? JSON.stringify(s, null, 2) : formatApprovals(s));
      } finally {
        await close();
      }
    });

  decisionOptions(
    approval
      .command('sign <workflowId>')
      .description(
        'print a signed approval signal as JSON, for `temporal workflow signal --name approval --input <it>`',
      ),
  ).action(async (workflowId: string, o: DecisionOptions) => {
    if (!o.signingKey && !env.FINFLOW_APPROVAL_SIGNING_KEY_FILE?.trim())
      throw new Error('approval sign needs a signing key: --signing-key or FINFLOW_APPROVAL_SIGNING_KEY_FILE');
    const needsRound = o.round === undefined;
    const conned = needsRound ? await conn() : undefined;
    try {
      out(JSON.stringify(await decisionPayload(conned?.client as Client, workflowId, o)));
    } finally {
      await conned?.close();
    }
  });

  approval
    .command('resubmit <workflowId>')
    .description('resubmit a rejected item (as its preparer): opens a new round')
    .requiredOption('--checkpoint <id>')
    .requiredOption('--by <userId>', 'the preparer')
    .option('--amount <decimal>', 'new amount (default: unchanged)')
    .option('--currency <code>')
    .option('--ref <itemRef>')
    .option('--evidence <kind=ref>', 'added evidence, repeatable', collect)
    .option('--resolution <text>')
    .option('--signing-key <file>', 'private JWK signing key (default $FINFLOW_APPROVAL_SIGNING_KEY_FILE)')
    .option('--signal', 'send as the resubmit signal (no answer)')
    .action(
      async (
        workflowId: string,
        o: {
          checkpoint: string;
          by: string;
          amount?: string;
          currency?: string;
          ref?: string;
          evidence?: string[];
          resolution?: string;
          signingKey?: string;
          signal?: boolean;
        },
      ) => {
        const { client, close } = await conn();
        try {
          const cp = await checkpointOf(client, workflowId, o.checkpoint);
          const round = (cp.round ?? 1) + 1;
          const evidence = (o.evidence ?? []).map(parseEvidenceOption);
          const fields = {
            ...(o.amount ? { amount: o.amount } : {}),
            ...(o.currency ? { currency: o.currency } : {}),
            ...(o.ref ? { itemRef: o.ref } : {}),
            ...(o.resolution !== undefined ? { resolution: o.resolution } : {}),
          };
          const key = await signingKey(o.signingKey, env);
          let payload: ResubmitSignal;
          if (key) {
            const { token } = await signResubmission(
              { workflowId, checkpointId: o.checkpoint, round, preparerId: o.by, evidence, ...fields },
              key,
              { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE },
            );
            payload = { checkpointId: o.checkpoint, round, token };
          } else {
            process.stderr.write('finflow: no signing key: sending the resubmission UNSIGNED (development only)\n');
            payload = { checkpointId: o.checkpoint, round, preparerId: o.by, evidence, ...fields };
          }
          if (o.signal) {
            await client.workflow.getHandle(workflowId).signal(resubmitSignal, payload);
            out(`sent resubmission of ${o.checkpoint} on ${workflowId} by ${o.by} (round ${round})`);
            return;
          }
          const answer = await sendApprovalUpdate(client, workflowId, submitResubmissionUpdate, payload);
          out(`resubmission of ${o.checkpoint} on ${workflowId} by ${o.by}: ${formatAnswer(answer)}`);
          if (!answer.accepted) process.exitCode = 2;
        } finally {
          await close();
        }
      },
    );

  approval
    .command('gateway')
    .description(
      'run the approval gateway for approver apps (configured by FINFLOW_* variables, see client/approval-gateway.ts)',
    )
    .action(async () => {
      const { main } = await import('../approval-gateway');
      await main();
    });

  registerDelegateCommand(approval, conn, out, env);

  const keys = approval.command('keys').description('approval signing keys');
  keys
    .command('init')
    .description(
      'make a signing key (private JWK, mode 0600) and add its public half to approval-jwks.json (the workers’ FINFLOW_APPROVAL_JWKS_FILE)',
    )
    .requiredOption('--dir <dir>', 'where to write the files')
    .option('--name <name>', 'file name stem of the private key', 'approval-signing')
    .option('--alg <alg>', 'EdDSA or ES256', 'EdDSA')
    .action(async (o: { dir: string; name: string; alg: string }) => {
      if (o.alg !== 'EdDSA' && o.alg !== 'ES256') throw new Error(`--alg must be EdDSA or ES256, got ${o.alg}`);
      const r = await createApprovalKeyFiles(o.dir, { name: o.name, alg: o.alg });
      out(`signing key ${r.kid}\n  private: ${r.signingKeyFile} (keep it; mode 0600)\n  public:  ${r.jwksFile}`);
    });
}
