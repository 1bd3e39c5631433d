// The approval gateway: the HTTP door approver apps use. It authenticates the caller's bearer JWT against the
// identity provider's keys, looks the caller up in the user directory (roles come from there, never from the
// caller), signs the decision with the gateway's key, and hands it to the workflow through the submitApproval
// update, so the app gets the workflow's accept/refuse at once. The workflow verifies the signature again (a local
// activity) before its rules count the decision: the gateway is trusted to say who, not what is allowed; and even
// who only with the identity provider's token for the caller, which every decision carries (claim "idp").
//
//   POST /approvals      { workflowId, checkpointId, decision, round?, level?, onBehalfOf?, comments?, evidence?,
//                          resolution?, mode?: "update" | "signal" }
//                        200 accepted, 409 refused (reason + message), 202 sent as a signal, 401, 400, 404
//   POST /resubmissions  { workflowId, checkpointId, round?, amount?, currency?, itemRef?, description?, evidence?,
//                          resolution? }   the caller is the preparer
//   POST /task-actions   { workflowId, action, taskId?, reason?, to?, note?, statement? }   the caller is who acts; the action
//                        goes to the close signed (submitTaskAction update): 200 accepted, 409 refused
//   POST /exception-actions { workflowId, task, reconId, runId, action, itemIds, count, totals, filter? }   the
//                        caller works a reconciliation's exceptions (explain, resolve, reopen, carry_forward); signed
//                        as the caller, sent to the close (submitExceptionAction update): 200 accepted, 409 refused
//   POST /certifications { workflowId, task, reconId, runId, text, count, totals }   the caller, the reconciliation's
//                        preparer, certifies it complete; signed as the caller and sent like an exception action:
//                        200 accepted, 409 refused
//   POST /attachments    ?kind=screenshot&name=portal.png, body the file (application/octet-stream)   an evidence file,
//                        stored by its SHA-256 (FINFLOW_ATTACHMENTS_DIR); 201 { kind, ref, sha256, ... }: put that in
//                        a decision's `evidence`; 400 refused (type, content, size), 413 over the limit, 503 no store
//   GET  /notifications  ?afterId=&limit=&workflowId=   the caller's notifications from the outbox, oldest first
//   GET  /healthz
//
// Run it with `finflow approval gateway` (configuration from the environment, see gatewayConfigFromEnv).
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { AttachmentError, type AttachmentStore } from '../activities/approval/attachments';
import { APPROVAL_AUDIENCE, GATEWAY_ISSUER } from '../activities/approval/keys';
import type { ApprovalOutbox } from '../activities/approval/outbox';
import { signResubmission } from '../activities/approval/resubmission';
import { signExceptionAction, type ExceptionActionClaimsInput } from '../activities/approval/exception-action-token';
import { signTaskAction } from '../activities/approval/task-action-token';
import { verifyIdentityJwt, type VerifyIdentityOptions } from '../activities/approval/identity';
import { signApprovalDecision, type ApprovalSigningKey } from '../activities/approval/signing';
import type { ApprovalPolicy } from '../domain/approval';
import {
  approvalSignal,
  approvalsQuery,
  submitApprovalUpdate,
  submitResubmissionUpdate,
  type ApprovalSignal,
  type ResubmitSignal,
} from '../workflows/definitions';
import type { TaskAction } from '../contracts';
import { sendApprovalUpdate } from './approval-decision';
import {
  ApprovalRequest,
  AttachmentQuery,
  CertificationRequest,
  ExceptionActionRequest,
  NotificationsQuery,
  ResubmissionRequest,
  TaskActionRequest,
} from './approval-gateway-requests';
import { ExceptionActionRequestError, submitExceptionAction } from './exception-action';
import { submitTaskAction } from './task-action';

export interface ApprovalGatewayDeps {
  /** A Temporal client (with the payload codec when the workers encrypt). */
  client: Client;
  /**
   * The user directory: who exists and which roles they hold. A function is asked on every request (the server
   * passes one that re-reads the policy file when it changes, so no restart); if it throws, callers are refused.
   */
  directory: Pick<ApprovalPolicy, 'users'> | (() => Pick<ApprovalPolicy, 'users'>);
  /** The identity provider's keys, issuer and audience for approvers' bearer tokens. */
  identity: Omit<VerifyIdentityOptions, 'now'>;
  signingKey: ApprovalSigningKey;
  issuer?: string;
  audience?: string;
  ttlSeconds?: number;
  /** For POST /attachments; without it that route answers 503. */
  attachments?: AttachmentStore;
  /** For GET /notifications; without it that route answers 503. */
  outbox?: ApprovalOutbox;
  logger?: boolean;
  /** For tests: the time tokens are signed and identities checked at. */
  clock?: () => Date;
}

interface Caller {
  userId: string;
  roles: string[];
  /** The identity provider's token that proved the caller: a decision carries it, so the worker checks it too. */
  token: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.message ?? body.error));
  }
}

function issues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
}

export async function buildApprovalGateway(deps: ApprovalGatewayDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: deps.logger ?? false, bodyLimit: 64 * 1024 });
  const issuer = deps.issuer ?? GATEWAY_ISSUER;
  const audience = deps.audience ?? APPROVAL_AUDIENCE;
  const now = () => deps.clock?.() ?? new Date();

  async function authenticate(req: FastifyRequest): Promise<Caller> {
    const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(req.headers.authorization?.trim() ?? '');
    if (!m) throw new HttpError(401, { error: 'unauthenticated', message: 'a Bearer token is required' });
    let directory: Pick<ApprovalPolicy, 'users'>;
    try {
      directory = typeof deps.directory === 'function' ? deps.directory() : deps.directory;
    } catch (err) {
      // Fail closed: with no readable directory nobody's roles are known, so nobody is signed for.
      throw new HttpError(503, { error: 'directory_unavailable', message: (err as Error).message });
    }
    const id = await verifyIdentityJwt(m[1], directory, { ...deps.identity, now: now() });
    if (!id.ok) throw new HttpError(401, { error: id.reason, message: id.message });
    if (id.ignoredRoleClaims.length)
      req.log.warn({ userId: id.userId, ignored: id.ignoredRoleClaims }, 'role claims not in the directory ignored');
    return { userId: id.userId, roles: id.roles, token: m[1] };
  }

  /** The round the app did not name: the one open now. */
  async function openRound(workflowId: string, checkpointId: string, next = false): Promise<number> {
    const s = await deps.client.workflow.getHandle(workflowId).query(approvalsQuery);
    const cp = s.checkpoints.find((c) => c.checkpointId === checkpointId);
    if (!cp?.round)
      throw new HttpError(409, {
        accepted: false,
        reason: 'checkpoint_not_open',
        message: `${workflowId} has no checkpoint ${checkpointId} open`,
      });
    return cp.round + (next ? 1 : 0);
  }

  function fail(reply: FastifyReply, err: unknown): FastifyReply {
    if (err instanceof HttpError) return reply.code(err.status).send(err.body);
    if (err instanceof WorkflowNotFoundError)
      return reply.code(404).send({ error: 'workflow_not_found', message: err.message });
    throw err;
  }

  app.get('/healthz', async () => ({ ok: true }));

  // An evidence file from an approver app, before the decision that names it: the raw bytes, up to the store's limit.
  app.addContentTypeParser(
    'application/octet-stream',
    { parseAs: 'buffer', bodyLimit: deps.attachments?.maxBytes ?? 64 * 1024 },
    (_req, body, done) => done(null, body),
  );
  app.post('/attachments', async (req, reply) => {
    try {
      const caller = await authenticate(req);
      if (!deps.attachments)
        throw new HttpError(503, { error: 'attachments_unavailable', message: 'this gateway stores no attachments' });
      const q = AttachmentQuery.safeParse(req.query);
      if (!q.success) throw new HttpError(400, { error: 'invalid_request', message: issues(q.error) });
      if (!Buffer.isBuffer(req.body))
        throw new HttpError(400, { error: 'invalid_request', message: 'send the file as application/octet-stream' });
      const { ref, stored } = await deps.attachments.putBytes(req.body, q.data.name, q.data.kind).catch((err) => {
        if (err instanceof AttachmentError)
          throw new HttpError(400, { error: 'attachment_refused', message: err.message });
        throw err;
      });
      req.log.info({ by: caller.userId, sha256: ref.sha256, kind: ref.kind }, 'evidence attachment stored');
      const { name, bytes, contentType } = stored;
      return reply.code(201).send({ ...ref, name, bytes, contentType, by: caller.userId });
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.post('/approvals', async (req, reply) => {
    try {
      const caller = await authenticate(req);
      const parsed = ApprovalRequest.safeParse(req.body);
      if (!parsed.success) throw new HttpError(400, { error: 'invalid_request', message: issues(parsed.error) });
      const b = parsed.data;
      const round = b.round ?? (await openRound(b.workflowId, b.checkpointId));
      const signed = await signApprovalDecision(
        {
          workflowId: b.workflowId,
          checkpointId: b.checkpointId,
          round,
          ...(b.level ? { level: b.level } : {}),
          decision: b.decision,
          approverId: caller.userId,
          ...(b.onBehalfOf ? { onBehalfOf: b.onBehalfOf } : {}),
          roles: caller.roles,
          ...(b.comments !== undefined ? { comments: b.comments } : {}),
          evidence: b.evidence,
          ...(b.resolution !== undefined ? { resolution: b.resolution } : {}),
        },
        deps.signingKey,
        // The provider's token for the caller travels in the decision: a worker counts a gateway's decision only
        // for the person the identity provider proved (activities/approval/identity.ts), not on the gateway's word.
        { issuer, audience, now: now(), ttlSeconds: deps.ttlSeconds, identityProof: caller.token },
      );
      const payload: ApprovalSignal = { checkpointId: b.checkpointId, round, token: signed.token };
      const handle = deps.client.workflow.getHandle(b.workflowId);
      if (b.mode === 'signal') {
        await handle.signal(approvalSignal, payload);
        return reply.code(202).send({ sent: true, nonce: signed.nonce, round });
      }
      const answer = await sendApprovalUpdate(deps.client, b.workflowId, submitApprovalUpdate, payload);
      return reply.code(answer.accepted ? 200 : 409).send({ ...answer, nonce: signed.nonce });
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.post('/resubmissions', async (req, reply) => {
    try {
      const caller = await authenticate(req);
      const parsed = ResubmissionRequest.safeParse(req.body);
      if (!parsed.success) throw new HttpError(400, { error: 'invalid_request', message: issues(parsed.error) });
      const { workflowId, ...b } = parsed.data;
      const round = b.round ?? (await openRound(workflowId, b.checkpointId, true));
      let signed;
      try {
        signed = await signResubmission({ workflowId, ...b, round, preparerId: caller.userId }, deps.signingKey, {
          issuer,
          audience,
          now: now(),
          ttlSeconds: deps.ttlSeconds,
        });
      } catch (err) {
        throw new HttpError(400, { error: 'invalid_request', message: (err as Error).message });
      }
      const payload: ResubmitSignal = { checkpointId: b.checkpointId, round, token: signed.token };
      const answer = await sendApprovalUpdate(deps.client, workflowId, submitResubmissionUpdate, payload);
      return reply.code(answer.accepted ? 200 : 409).send({ ...answer, nonce: signed.nonce });
    } catch (err) {
      return fail(reply, err);
    }
  });

  // A person's task action (an owner's `complete`, a controller's `skip`...), signed as the caller: the close takes
  // the action from the token, so its journal shows who acted as proven.
  app.post('/task-actions', async (req, reply) => {
    try {
      const caller = await authenticate(req);
      const parsed = TaskActionRequest.safeParse(req.body);
      if (!parsed.success) throw new HttpError(400, { error: 'invalid_request', message: issues(parsed.error) });
      const { workflowId, ...action } = parsed.data;
      const signed = await signTaskAction({ workflowId, ...action, by: caller.userId }, deps.signingKey, {
        issuer,
        audience,
        now: now(),
        ttlSeconds: deps.ttlSeconds,
      });
      const payload: TaskAction = { ...action, by: caller.userId, token: signed.token };
      const answer = await submitTaskAction(deps.client, workflowId, payload);
      return reply.code(answer.accepted ? 200 : 409).send({ ...answer, by: caller.userId, nonce: signed.nonce });
    } catch (err) {
      return fail(reply, err);
    }
  });

  /** Signs an exception action (or certification) as the caller and sends it to the close: 200 / 409 / 400. */
  async function sendExceptionAction(
    reply: FastifyReply,
    workflowId: string,
    task: string,
    claims: Omit<ExceptionActionClaimsInput, 'workflowId' | 'exceptionAction'>,
    action: Record<string, unknown>,
  ) {
    let token: string;
    let nonce: string;
    try {
      ({ token, nonce } = await signExceptionAction(
        { workflowId, ...claims, exceptionAction: action },
        deps.signingKey,
        {
          issuer,
          audience,
          now: now(),
          ttlSeconds: deps.ttlSeconds,
        },
      ));
    } catch (err) {
      throw new HttpError(400, { error: 'invalid_request', message: (err as Error).message });
    }
    let answer;
    try {
      answer = await submitExceptionAction(deps.client, workflowId, { task, token });
    } catch (err) {
      if (err instanceof ExceptionActionRequestError)
        throw new HttpError(400, { error: 'invalid_request', message: err.message });
      throw err;
    }
    return reply.code(answer.accepted ? 200 : 409).send({ ...answer, nonce });
  }

  // A person's action on a reconciliation's exceptions, signed as the caller: the close verifies it, checks the
  // caller holds the reconciliation's owner role, applies it to every item or none, and journals it.
  app.post('/exception-actions', async (req, reply) => {
    try {
      const caller = await authenticate(req);
      const parsed = ExceptionActionRequest.safeParse(req.body);
      if (!parsed.success) throw new HttpError(400, { error: 'invalid_request', message: issues(parsed.error) });
      const { workflowId, task, action, ...rest } = parsed.data;
      return await sendExceptionAction(reply, workflowId, task, { ...rest, by: caller.userId }, action);
    } catch (err) {
      return fail(reply, err);
    }
  });

  // The preparer's certification that a reconciliation is complete: an exception action naming no items (the run's
  // count and totals instead), signed as the caller and sent the same way, so the close verifies, records and
  // journals it like the others (domain/exceptions/certification.ts).
  app.post('/certifications', async (req, reply) => {
    try {
      const caller = await authenticate(req);
      const parsed = CertificationRequest.safeParse(req.body);
      if (!parsed.success) throw new HttpError(400, { error: 'invalid_request', message: issues(parsed.error) });
      const { workflowId, task, text, ...rest } = parsed.data;
      const action = { action: 'certify', text };
      return await sendExceptionAction(reply, workflowId, task, { ...rest, itemIds: [], by: caller.userId }, action);
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.get('/notifications', async (req, reply) => {
    try {
      const caller = await authenticate(req);
      const parsed = NotificationsQuery.safeParse(req.query);
      if (!parsed.success) throw new HttpError(400, { error: 'invalid_request', message: issues(parsed.error) });
      const q = parsed.data;
      // One's own notifications only: they name items and amounts awaiting someone else's decision.
      if (q.approver !== undefined && q.approver !== caller.userId)
        throw new HttpError(403, {
          error: 'forbidden',
          message: `${caller.userId} may read only their own notifications`,
        });
      if (!deps.outbox)
        throw new HttpError(503, { error: 'no_outbox', message: 'this gateway has no outbox database configured' });
      const rows = await deps.outbox.forRecipient(caller.userId, {
        afterId: q.afterId,
        limit: q.limit,
        workflowId: q.workflowId,
      });
      return { notifications: rows, lastId: rows.length ? rows[rows.length - 1].id : (q.afterId ?? null) };
    } catch (err) {
      return fail(reply, err);
    }
  });

  return app;
}

// ---------------------------------------------------------------- running it
// Configuration from the environment and the listening server live in approval-gateway-server.ts.
export {
  gatewayConfigFromEnv,
  readPolicyFile,
  startApprovalGateway,
  type GatewayConfig,
  type RunningGateway,
} from './approval-gateway-server';

export async function main(): Promise<void> {
  const { gatewayConfigFromEnv, startApprovalGateway } = await import('./approval-gateway-server');
  const gw = await startApprovalGateway(gatewayConfigFromEnv());
  process.stdout.write(`finflow approval gateway on ${gw.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await gw.close();
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`approval gateway: ${(err as Error).message}`);
    process.exit(1);
  });
}
