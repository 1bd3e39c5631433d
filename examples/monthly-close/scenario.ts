// The seed scenario run end to end, as a user would: data generated into the systems (GL in PostgreSQL, ERP in
// MariaDB, bank statements as files), a worker configured only through its environment, the close started from
// examples/monthly-close/close-plan.yaml, manual tasks completed by their owners, every approval signed through the
// approval gateway by the right person, and after the close the full history exported into the evidence package.
// `npm run demo` runs it on the embedded servers; test/e2e/monthly-close.test.ts runs it and checks every printed
// figure against the generator's planted truth.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Pool } from 'pg';
import { createApprovalKeyFiles, readApprovalKeySet, readSigningKeyFile } from '../../activities/approval/keys';
import { AttachmentStore } from '../../activities/approval/attachments';
import { ApprovalOutbox } from '../../activities/approval/outbox';
import { userKeysFromFile, writeUserKeyDirectoryFile } from '../../activities/approval/user-keys';
import { REPORT_PDF } from '../../activities/compliance/package';
import { exportSigningKey, generateSigningKey } from '../../activities/compliance/signing';
import { createMysqlPool } from '../../activities/connectors/mysql';
import { buildApprovalGateway } from '../../client/approval-gateway';
import { buildProgram } from '../../client/cli';
import { readClosePlan } from '../../client/close-plan-file';
import { connectClient } from '../../client/connect';
import { emptyUserKeyDirectory, parseApprovalPolicy } from '../../domain/approval';
import { closeWorkflowId } from '../../domain/ids';
import { ensureKeyFile } from '../../platform/security-setup';
import { reconciliationTaskQueueOf } from '../../platform/config';
import { startWorker } from '../../workers/main';
import { statusQuery } from '../../workflows/definitions';
import type { CloseStatus, ReconciliationSummary } from '../../contracts';
import { withPeriod } from './demo-period';
import { generateScenario, type PlantedTruth } from './generator';
import {
  attachReviewEvidence,
  attest,
  explainExceptions,
  listExceptions,
  stateLine,
  type PeopleWork,
} from './people-work';

export const PLAN_FILE = resolve(__dirname, 'close-plan.yaml');

/** Who does what in the plan's approval policy: the preparer, and one signer per approving role. */
export const PEOPLE = {
  accountant: 'ann.accountant',
  supervisor: 'sam.supervisor',
  manager: 'maya.manager',
  director: 'dan.director',
  controller: 'carla.controller',
} as const;

export interface ScenarioInfra {
  temporal: { address: string; namespace?: string; uiUrl?: string };
  /** finflow's own PostgreSQL database: result store, approval outbox, audit ledger. */
  databaseUrl: string;
  /** The general ledger (PostgreSQL) and the ERP (MariaDB), loaded by the generator. */
  glUrl: string;
  erpUrl: string;
  /** Working directory: statement files, reports, evidence, archive, keys. */
  dir: string;
  /** Directory of long-lived demo keys (payload encryption, approval gateway, evidence signing); default `dir`/keys. */
  keysDir?: string;
  taskQueue?: string;
  workflowBundle?: WorkflowBundleWithSourceMap;
}

export interface ScenarioOptions {
  records: number;
  /** The period to close (yyyy-MM); default the plan file's own. The data is generated for it. */
  period?: string;
  seed?: number;
  say?: (line: string) => void;
  /** Called once the close is started, with its workflow id (e.g. to print the Web UI link). */
  onStarted?: (workflowId: string) => void;
  /**
   * Called after the close (and its evidence export) while the worker still runs, e.g. to drive a second close
   * from outside with the plain `temporal` CLI.
   */
  afterClose?: (ctx: { client: Client; taskQueue: string; address: string; keysDir: string }) => Promise<void>;
}

export interface ScenarioOutcome {
  closeId: string;
  /** The close report's HTML (Gantt chart, dependency graph), when the report task wrote one. */
  closeReport?: string;
  status: CloseStatus;
  truth: PlantedTruth;
  recons: Record<string, ReconciliationSummary>;
  evidence?: { packageId: string; path: string; manifestSha256: string };
  /** What `finflow evidence export` printed after the close. */
  exportLines: string[];
  /** Every line the run printed. */
  lines: string[];
  seconds: { generate: number; close: number };
}

const MANUAL_KINDS = new Set(['manual', 'journal_entry']);

function group(n: number): string {
  return n.toLocaleString('en-US');
}

/** `missing_in_a 3, amount_mismatch 4, ...` of the categories that occurred. */
export function categoryLine(perCategory: Record<string, number> | undefined): string {
  const parts = Object.entries(perCategory ?? {})
    .filter(([, n]) => n > 0)
    .map(([c, n]) => `${c} ${group(n)}`);
  return parts.length ? parts.join(', ') : 'none';
}

/** The seed's printout of one reconciliation: status, items processed, matched, exceptions, report files. */
export function reconLines(s: ReconciliationSummary): string[] {
  return [
    `  ${s.reconId}: ${s.status}, control totals ${s.controlTotals ?? 'n/a'}`,
    `    items processed  ${group(s.a.records)} (side a, total ${s.a.amount}) + ${group(s.b.records)} (side b, total ${s.b.amount})`,
    `    matched          ${group(s.matches ?? s.keys.matched)}`,
    `    exceptions       ${group(s.exceptions ?? 0)}: ${categoryLine(s.perCategory)}`,
    ...(s.reports ?? []).map((r) => `    report           ${(r as { path?: string }).path ?? JSON.stringify(r)}`),
    ...((s.reports ?? []).some((r) => r.sealed)
      ? [
          '    (sealed at rest with its data key: npx finflow report open <file> --purpose "<why>" writes the clear file)',
        ]
      : []),
  ];
}

function ensureEvidenceKey(dir: string): string {
  const file = join(dir, 'evidence-signing.pem');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, exportSigningKey(generateSigningKey()).privateKeyPem, { mode: 0o600, flag: 'wx' });
  }
  return file;
}

/** What to open after a run: the pictures, and the evidence as a reviewer reads it. */
export function whatToOpen(outcome: ScenarioOutcome): string[] {
  return [
    `Open in a browser: ${outcome.closeReport ?? 'no close report was written'}`,
    '  (the close report: Gantt chart and dependency graph, late tasks in red, the critical path outlined)',
    ...(outcome.evidence
      ? [
          `Evidence to review: ${join(outcome.evidence.path, 'report.html')} and ${join(outcome.evidence.path, REPORT_PDF)}`,
        ]
      : []),
  ];
}

/** Runs the whole scenario on the given servers and returns what it printed and the planted truth. */
export async function runMonthlyCloseScenario(infra: ScenarioInfra, opts: ScenarioOptions): Promise<ScenarioOutcome> {
  const lines: string[] = [];
  const say = (s: string) => {
    lines.push(s);
    opts.say?.(s);
  };
  const dir = resolve(infra.dir);
  const keysDir = resolve(infra.keysDir ?? join(dir, 'keys'));
  mkdirSync(dir, { recursive: true });

  const filePlan = readClosePlan(PLAN_FILE);
  const plan = opts.period ? withPeriod(filePlan, opts.period) : filePlan;

  // 1. The systems' data, with planted discrepancies whose truth is known.
  const t0 = Date.now();
  const glPool = new Pool({ connectionString: infra.glUrl, max: 2 });
  const erpPool = createMysqlPool(infra.erpUrl);
  let generated;
  try {
    generated = await generateScenario({
      records: opts.records,
      seed: opts.seed,
      pg: glPool,
      mysql: erpPool,
      bankDir: join(dir, 'files', 'statements'),
      period: plan.period,
    });
  } finally {
    await glPool.end();
    await erpPool.end();
  }
  const { truth } = generated;
  const generateSeconds = (Date.now() - t0) / 1000;
  say(
    `  data           ${group(truth.gl.records)} GL journal lines (PostgreSQL), ${group(truth.erp.records)} ERP postings ` +
      `(MariaDB), ${group(truth.bank.statements.records)} bank statement entries (camt.053 + MT940) in ${generateSeconds.toFixed(1)} s`,
  );

  // 2. The worker, configured as in production: only through its environment.
  const keyFile = await ensureKeyFile(join(keysDir, 'payload-keys.json'));
  const approvalKeys = join(keysDir, 'approval');
  const gatewayKeyFile = join(approvalKeys, 'gateway.private.jwk.json');
  if (!existsSync(gatewayKeyFile)) await createApprovalKeyFiles(approvalKeys, { name: 'gateway' });
  // People's own signing keys (issue 18): with this directory, the gateway's key signs for the gateway only, and a
  // token signed through the CLI counts only under its signer's own key (`finflow keys user add <person>`).
  const userKeysFile = join(approvalKeys, 'user-keys.json');
  if (!existsSync(userKeysFile)) await writeUserKeyDirectoryFile(userKeysFile, emptyUserKeyDirectory());
  const env: Record<string, string> = {
    DATABASE_URL: infra.databaseUrl,
    FINFLOW_SYSTEMS: JSON.stringify({
      general_ledger: { engine: 'postgres', url: infra.glUrl },
      erp: { engine: 'mysql', url: infra.erpUrl },
      results: { engine: 'postgres', url: infra.databaseUrl },
    }),
    FINFLOW_KEY_FILE: join(keysDir, 'payload-keys.json'),
    FINFLOW_FILES_DIR: join(dir, 'files'),
    FINFLOW_WORK_DIR: join(dir, 'work'),
    FINFLOW_REPORTS_DIR: join(dir, 'reports'),
    FINFLOW_CLOSE_REPORT_DIR: join(dir, 'close-reports'),
    FINFLOW_EVIDENCE_DIR: join(dir, 'evidence'),
    FINFLOW_ARCHIVE_DIR: join(dir, 'archive'),
    FINFLOW_SIGNING_KEY_FILE: ensureEvidenceKey(keysDir),
    FINFLOW_ACTOR: PEOPLE.controller,
    FINFLOW_USER_KEYS_FILE: userKeysFile,
    FINFLOW_ATTACHMENTS_DIR: join(dir, 'attachments'),
  };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const taskQueue = infra.taskQueue ?? 'finflow';
  const temporal = { address: infra.temporal.address, namespace: infra.temporal.namespace ?? 'default', taskQueue };
  // The demo's own identity provider (an approver app holds its token): the gateway authenticates callers with it,
  // and the worker checks the provider's token each gateway decision carries, so the gateway's key alone signs for
  // nobody the provider did not prove.
  const idp = await generateKeyPair('EdDSA');
  const idpJwk = { ...(await exportJWK(idp.publicKey)), kid: 'demo-idp', alg: 'EdDSA' };
  const identity = { keys: { keys: [idpJwk] }, issuer: 'finflow-demo-idp', audience: 'finflow-approval-gateway' };
  const worker = await startWorker({
    config: temporal,
    keyProvider: keyFile,
    workflowBundle: infra.workflowBundle,
    approval: {
      keys: await readApprovalKeySet(join(approvalKeys, 'approval-jwks.json')),
      userKeys: userKeysFromFile(userKeysFile),
      identity,
    },
  });
  const { client, close } = await connectClient(temporal, { keyProvider: keyFile });

  // 3. The approval gateway, and an identity provider of the demo's own (an approver app holds its token).
  const outboxPool = new Pool({ connectionString: infra.databaseUrl, max: 2 });
  const gateway = await buildApprovalGateway({
    client,
    directory: parseApprovalPolicy(plan.approvalPolicy, PLAN_FILE),
    identity,
    signingKey: await readSigningKeyFile(gatewayKeyFile),
    outbox: new ApprovalOutbox(outboxPool),
    attachments: new AttachmentStore(join(dir, 'attachments')),
  });
  const gatewayUrl = await gateway.listen({ host: '127.0.0.1', port: 0 });
  say(`  approvals      gateway ${gatewayUrl}; decisions signed, identities from the demo's identity provider`);
  say(`  signing keys   through the CLI, only a person's own key counts (finflow keys user add; ${userKeysFile})`);
  const login = (userId: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: 'demo-idp' })
      .setIssuer('finflow-demo-idp')
      .setAudience('finflow-approval-gateway')
      .setSubject(userId)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(idp.privateKey);

  const closeId = closeWorkflowId(plan.company, plan.period);
  const t1 = Date.now();
  try {
    const handle = await client.workflow.start('monthEndCloseWorkflow', {
      taskQueue,
      workflowId: closeId,
      // As `finflow close start` does: the reconciliation children on the worker's second queue.
      args: [{ reconciliationTaskQueue: reconciliationTaskQueueOf(temporal), ...plan, searchAttributes: true }],
    });
    opts.onStarted?.(closeId);
    say(`  close started  ${closeId} from ${PLAN_FILE}`);

    // 4. People at work: owners complete their manual tasks, the accountant explains the exceptions of each
    // finished reconciliation, approvers sign what waits for their role, the controller attests. All signed.
    const work: PeopleWork = { gatewayUrl, closeId, login, status: () => handle.query(statusQuery), say };
    const acted = new Set<string>();
    const hasOpenExceptions = (t: CloseStatus['tasks'][number]) =>
      (t.result?.openExceptions ?? t.result?.exceptions ?? 0) > 0;
    let last = '';
    let status: CloseStatus;
    for (;;) {
      status = await handle.query(statusQuery);
      const line = `  progress       ${'#'.repeat(Math.floor(status.percentDone / 5)).padEnd(20, '.')} ${String(status.percentDone).padStart(3)}%  ${status.tasks
        .filter((t) => t.state === 'running')
        .map((t) => t.id)
        .join(', ')}`;
      if (line !== last) say((last = line));
      if (status.state === 'completed') break;
      // Nobody in the demo waives or reruns: a blocked task would wait for a person until the close times out.
      // (The close itself stays open, state 'blocked', waiting for someone to rerun or waive.)
      const blocked = status.tasks.filter((t) => t.state === 'blocked' || t.state === 'failed');
      if (blocked.length)
        throw new Error(
          `the close is stuck: ${blocked.map((t) => `${t.id} ${t.state}: ${t.blockedReason ?? t.reason ?? 'no reason given'}`).join('; ')}`,
        );
      // The preparer explains before the supervisor approves (and, segregation of duties, never approves herself).
      for (const t of status.tasks) {
        if (t.kind !== 'reconciliation' || !['done', 'done_with_exceptions'].includes(t.state)) continue;
        if (!hasOpenExceptions(t) || acted.has(`explain:${t.id}`)) continue;
        acted.add(`explain:${t.id}`);
        await explainExceptions(work, t, PEOPLE.accountant);
      }
      const reconsWorked = status.tasks
        .filter((t) => t.kind === 'reconciliation')
        .every(
          (t) =>
            ['done', 'done_with_exceptions'].includes(t.state) &&
            (!hasOpenExceptions(t) || acted.has(`explain:${t.id}`)),
        );
      for (const t of status.tasks) {
        if (t.kind !== 'documentation' || !t.awaitingAttestation || acted.has(`attest:${t.id}`)) continue;
        acted.add(`attest:${t.id}`);
        const role = t.awaitingAttestation.requiredFrom[0] as keyof typeof PEOPLE;
        await attest(work, t, PEOPLE[role]);
      }
      for (const t of status.tasks) {
        if (t.state !== 'running' || !MANUAL_KINDS.has(t.kind) || acted.has(`task:${t.id}`)) continue;
        acted.add(`task:${t.id}`);
        // Through the gateway, as the owner's app would: the completion reaches the close signed as its owner.
        const res = await fetch(`${gatewayUrl}/task-actions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${await login(PEOPLE.accountant)}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            workflowId: closeId,
            action: 'complete',
            taskId: t.id,
            ...(t.doneWhen ? { note: t.doneWhen } : {}),
          }),
        });
        const answer = (await res.json()) as { accepted?: boolean; message?: string };
        say(
          `  task           ${t.id} completed by ${PEOPLE.accountant} (signed): ${answer.accepted ? 'accepted' : `REFUSED: ${answer.message}`}`,
        );
      }
      for (const c of status.checkpoints) {
        if (c.state !== 'open' || !c.openLevel) continue;
        if (c.itemType === 'reconciliation' && !reconsWorked) continue;
        const key = `cp:${c.checkpointId}:${c.round ?? 1}:${c.openLevel.level}`;
        if (acted.has(key)) continue;
        acted.add(key);
        const role = c.openLevel.role as keyof typeof PEOPLE;
        const approver = PEOPLE[role];
        const evidence =
          c.itemType === 'reconciliation' ? await attachReviewEvidence(work, approver, plan.period) : undefined;
        const res = await fetch(`${gatewayUrl}/approvals`, {
          method: 'POST',
          headers: { authorization: `Bearer ${await login(approver)}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            workflowId: closeId,
            checkpointId: c.checkpointId,
            decision: 'approved',
            comments: `Reviewed by ${approver} (${role}).`,
            ...(evidence ? { evidence } : {}),
            resolution:
              c.itemType === 'reconciliation'
                ? 'Every exception reviewed: timing items clear next period, the rest corrected or booked.'
                : undefined,
          }),
        });
        const answer = (await res.json()) as { accepted: boolean; message: string; reason?: string };
        say(
          `  approval       ${c.checkpointId} level ${c.openLevel.level}/${c.openLevel.of} (${role}) by ${approver}: ` +
            `${answer.accepted ? 'accepted' : `REFUSED (${answer.reason})`}`,
        );
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    status = await handle.result();
    const closeSeconds = (Date.now() - t1) / 1000;

    // 5. After the close: its complete history (parent and children) into the evidence package, re-signed.
    const exportLines: string[] = [];
    if (status.state === 'completed') {
      const program = buildProgram((s) => exportLines.push(s));
      program.exitOverride();
      await program.parseAsync(
        ['--address', temporal.address, '--namespace', temporal.namespace, 'evidence', 'export', closeId],
        { from: 'user' },
      );
    }

    await opts.afterClose?.({ client, taskQueue, address: temporal.address, keysDir });

    const recons: Record<string, ReconciliationSummary> = {};
    for (const t of status.tasks) if (t.result) recons[t.result.reconId] = t.result;
    const doc = status.tasks.find((t) => t.kind === 'documentation')?.output as ScenarioOutcome['evidence'] | undefined;
    const evidence = doc?.path
      ? { packageId: doc.packageId, path: doc.path, manifestSha256: doc.manifestSha256 }
      : undefined;

    say('');
    say(`Status: ${status.state.toUpperCase()} (${status.percentDone}% done) in ${closeSeconds.toFixed(1)} s`);
    say('Reconciliations:');
    for (const s of Object.values(recons)) for (const l of reconLines(s)) say(l);
    say('Exceptions by state:');
    for (const t of status.tasks.filter((x) => x.kind === 'reconciliation' && x.result?.runId))
      say(`  ${(t.result as ReconciliationSummary).reconId.padEnd(16)} ${stateLine(await listExceptions(work, t.id))}`);
    const attested = status.journal?.filter((j) => j.action === 'attest' && j.accepted && j.signed) ?? [];
    say(
      `Attestation: ${attested.length ? attested.map((j) => `${j.taskId} by ${j.by} (${j.role}, signed) at ${j.at}`).join('; ') : 'none'}`,
    );
    say(`Documentation file: ${evidence ? join(evidence.path, REPORT_PDF) : 'none'}`);
    say('Close tasks:');
    for (const t of status.tasks) say(`  ${t.id.padEnd(28)} ${t.state}${t.late ? ' (late)' : ''}`);
    if (evidence) say(`Evidence package: ${evidence.path} (manifest sha256 ${evidence.manifestSha256})`);
    for (const l of exportLines) say(`  ${l}`);
    const closeReport = (
      status.tasks.find((t) => t.kind === 'report')?.output as { paths?: string[] } | undefined
    )?.paths?.find((p) => p.endsWith('.html'));
    return {
      closeId,
      closeReport,
      status,
      truth,
      recons,
      evidence,
      exportLines,
      lines,
      seconds: { generate: generateSeconds, close: closeSeconds },
    };
  } finally {
    await gateway.close();
    await outboxPool.end();
    await close();
    await worker.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
