// The close's documentation task: one evidence package per control per close, built from the close's own state
// (reconciliation summaries, approval checkpoints, journal), its exceptions from the result store, and the workflow
// history of the close and its children so far; logged to the audit ledger and archived with its retain-until
// date. The close's history is complete only once the close has ended: `finflow evidence export` then refreshes the
// package's trail in place (trail.ts).
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure, type PayloadCodec } from '@temporalio/common';
import { createHash } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { attestationsOf } from '../../domain/compliance/attestation';
import { closeEvidenceInput, parseCloseEvidenceConfig, resolveControl } from '../../domain/compliance/close-evidence';
import { EvidenceInputError, evidencePackageId, type EvidenceInputRaw } from '../../domain/compliance/evidence';
import type { RetentionPolicy } from '../../domain/compliance/retention';
import { maskByFieldName } from '../../domain/security/masking';
import type { SecurityPolicy } from '../../domain/security/policy';
import type { CloseEvidenceInput, ReconciliationSummary } from '../../contracts';
import { securityPolicyFromEnv } from '../security/policy-file';
import { AuditLedger } from '../audit-ledger/ledger';
import { exportCloseHistory, HISTORY_HTML, HISTORY_JSONL, type HistoryMask } from '../history-export';
import type { ResultStore } from '../result-store';
import type { ExceptionActionStore } from '../result-store/exception-actions';
import { attachmentStoreFromEnv, type AttachmentStore } from '../approval/attachments';
import { approvalAttachments } from './approval-attachments';
import { exceptionEvidence, lifecycleEvidence } from './exception-evidence';
import { archivePackage, FileSystemArchiveStore, type ArchiveDeps } from './archive';
import { sha256File } from './files';
import { generateEvidencePackage } from './package';
import { evidenceViews, type EnvelopeSource } from './sealed-evidence';
import { signingKeyFromEnv, type SigningKey } from './signing';
import { resilientPool } from '../pg-pool';

export type { CloseEvidenceInput };
export { exceptionEvidence, lifecycleEvidence } from './exception-evidence';

/** workflows/types.ts CloseEvidenceOutput, and what the package's controls came to. */
export interface CloseEvidenceResult {
  packageId: string;
  /** Where the package is now: its archive location, or its generation directory when no archive is configured. */
  path: string;
  manifestSha256: string;
  files: number;
  allControlsHeld: boolean;
  attestationMissingFrom: string[];
  /** Present when archived. */
  retainUntil?: string;
  /** The audit ledger entry, when a ledger is configured. */
  ledgerSeq?: number;
}

export interface CloseEvidenceDeps {
  signingKey: SigningKey;
  /** Packages are generated in `<evidenceRoot>/<packageId>` (and staged in `<evidenceRoot>/.staging`). */
  evidenceRoot: string;
  archive?: ArchiveDeps;
  ledger?: AuditLedger;
  /** Exceptions of reconciliations whose summary names a result-store run (`runId`); a function is called once, when needed. */
  resultStore?: ResultStore | (() => ResultStore);
  /**
   * The same exceptions with their lifecycle (reason code, resolution kind, reference, who and when): preferred to
   * `resultStore` when given, so the package shows every explanation and resolution and its author.
   */
  exceptionActions?: ExceptionActionStore | (() => ExceptionActionStore);
  /** Reads the histories; default the activity's own client (the worker's connection and data converter). */
  client?: Client;
  /** Codecs to decode history payloads with; default the client's. */
  codecs?: PayloadCodec[];
  /** Masks payloads in the trail and free text taken from the close (approval comments, journal reasons). */
  mask?: HistoryMask;
  /** Who the ledger names as generating the package. */
  actor?: string;
  /** Where the files approvers attached to their decisions are (FINFLOW_ATTACHMENTS_DIR). */
  attachments?: AttachmentStore;
  /** The package's reader: exceptions' sensitive values shown as these roles may see them (exception-view.ts). */
  view?: { policy: SecurityPolicy; roles: string[] };
  /** Data keys: a reconciliation's exception values are sealed in the package under its dataset's key. */
  envelope?: EnvelopeSource;
}

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

function heartbeat(details: unknown): void {
  activityContext()?.heartbeat(details);
}

/** Report files a reconciliation summary names (`reports` as a list of paths or {kind, path}, or a record of them). */
function reportFiles(summary: ReconciliationSummary): { kind: string; path: string; sha256?: string }[] {
  const r = (summary as unknown as { reports?: unknown }).reports;
  const out: { kind: string; path: string; sha256?: string }[] = [];
  const add = (name: string, v: unknown) => {
    const path = typeof v === 'string' ? v : (v as { path?: unknown } | null)?.path;
    if (typeof path !== 'string') return;
    const kind = (v as { kind?: unknown } | null)?.kind;
    const sha256 = (v as { sha256?: unknown } | null)?.sha256;
    const k = typeof kind === 'string' ? kind : `${name} ${path}`;
    out.push({
      kind: /exception/i.test(k) ? 'exception_report' : 'reconciliation_summary',
      path,
      ...(typeof sha256 === 'string' ? { sha256 } : {}),
    });
  };
  if (Array.isArray(r)) r.forEach((v, i) => add(String(i), v));
  else if (r && typeof r === 'object') for (const [k, v] of Object.entries(r)) add(k, v);
  return out;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * The close's accepted, signed attestations of this task, from the journal as the close kept it (not masked: the
 * statement is what was signed), each with its statement's SHA-256 so a reader can check the text attested.
 */
export function capturedAttestations(input: CloseEvidenceInput): EvidenceInputRaw['attestations'] {
  return attestationsOf(input.journal, input.taskId).map((a) => ({
    id: a.id,
    role: a.role,
    at: a.at,
    statement: a.statement,
    statementSha256: createHash('sha256').update(a.statement, 'utf8').digest('hex'),
  }));
}

function maskState<T>(mask: HistoryMask | undefined, value: T): T {
  return mask ? (mask(value) as T) : value;
}

export async function produceCloseEvidence(
  deps: CloseEvidenceDeps,
  input: CloseEvidenceInput,
): Promise<CloseEvidenceResult> {
  const ctx = activityContext();
  const asOf = input.asOf ?? (ctx ? new Date(ctx.info.scheduledTimestampMs).toISOString() : new Date().toISOString());
  const config = parseCloseEvidenceConfig(input.config, `task ${input.taskId} config`);
  const control = resolveControl(config, `task ${input.taskId} config`);
  const packageId = evidencePackageId(control, input);
  const staging = join(deps.evidenceRoot, '.staging', packageId);
  const dir = join(deps.evidenceRoot, packageId);

  // The trail is exported when the control asks for it (the seed's control does); a control that does not name
  // workflow_history gets none, and needs no Temporal client.
  const wantsHistory = control.evidence.includes('workflow_history');
  if (wantsHistory) {
    const client = deps.client ?? ctx?.client;
    if (!client) throw new Error('no Temporal client to read the close history with');
    const codecs = deps.codecs ?? client.options.loadedDataConverter.payloadCodecs;
    const history = await exportCloseHistory(
      { client, codecs, mask: deps.mask },
      { workflowId: input.closeWorkflowId, outDir: join(staging, 'history'), until: asOf },
    );
    heartbeat({ step: 'history', entries: history.entries });
  }

  const exceptions: EvidenceInputRaw['exceptions'] = [];
  const attachments: EvidenceInputRaw['attachments'] = [];
  let store: ResultStore | undefined;
  let actions: ExceptionActionStore | undefined;
  for (const s of input.reconciliations) {
    const runId = (s as unknown as { runId?: unknown }).runId;
    if (typeof runId === 'string' && deps.exceptionActions) {
      actions ??= typeof deps.exceptionActions === 'function' ? deps.exceptionActions() : deps.exceptionActions;
      for (const x of await actions.rows(runId)) exceptions.push(lifecycleEvidence(s.reconId, x));
      heartbeat({ step: 'exceptions', reconId: s.reconId, count: exceptions.length });
    } else if (typeof runId === 'string' && deps.resultStore) {
      store ??= typeof deps.resultStore === 'function' ? deps.resultStore() : deps.resultStore;
      for await (const batch of store.streamExceptions(runId))
        for (const x of batch) exceptions.push(exceptionEvidence(s.reconId, x));
      heartbeat({ step: 'exceptions', reconId: s.reconId, count: exceptions.length });
    }
    for (const f of reportFiles(s)) {
      if (!(await isFile(f.path)))
        throw new EvidenceInputError(
          `reconciliation ${s.reconId} names report ${f.path}, which is not a readable file`,
        );
      if (f.sha256 && (await sha256File(f.path)).sha256 !== f.sha256)
        throw new EvidenceInputError(
          `reconciliation ${s.reconId}: report ${f.path} no longer has the SHA-256 its run recorded (${f.sha256})`,
        );
      attachments.push({ kind: f.kind, path: f.path, description: `${s.reconId} report` });
    }
  }
  attachments.push(...(await approvalAttachments(input.approvals, deps.attachments)));
  if (wantsHistory)
    attachments.push(
      {
        kind: 'workflow_history',
        path: join(staging, 'history', HISTORY_JSONL),
        description: `history of ${input.closeWorkflowId} and its children up to ${asOf} (decoded, masked)`,
      },
      { kind: 'workflow_history', path: join(staging, 'history', HISTORY_HTML), description: 'the same, readable' },
    );

  const evidence = closeEvidenceInput(
    {
      closeWorkflowId: input.closeWorkflowId,
      company: input.company,
      period: input.period,
      taskId: input.taskId,
      config: input.config,
      reconciliations: input.reconciliations,
      approvals: maskState(deps.mask, input.approvals),
      journal: maskState(deps.mask, input.journal),
    },
    {
      asOf,
      closeState: input.closeState,
      startedAt: input.startedAt,
      exceptions,
      attachments,
      attestations: capturedAttestations(input),
    },
  );
  const views = deps.view
    ? await evidenceViews({
        ...deps.view,
        reconciliations: input.reconciliations,
        reportsOf: reportFiles,
        envelope: deps.envelope,
      })
    : undefined;
  let generated;
  try {
    generated = await generateEvidencePackage(evidence, {
      dir,
      signingKey: deps.signingKey,
      onFile: (s) => heartbeat({ step: 'file', file: s.path }),
      ...(views ? { view: views.view } : {}),
    });
  } finally {
    views?.dispose();
  }
  const actor = deps.actor ?? 'finflow';
  const entry = await deps.ledger?.append({
    actor,
    action: 'evidence.generated',
    subject: packageId,
    payload: {
      closeWorkflowId: input.closeWorkflowId,
      taskId: input.taskId,
      manifestSha256: generated.manifestSha256,
      files: generated.files.length,
      allControlsHeld: generated.document.allControlsHeld,
      asOf,
    },
    idempotencyKey: `${input.closeWorkflowId}/${input.taskId}/evidence/${generated.manifestSha256}`,
  });

  let path = dir;
  let retainUntil: string | undefined;
  if (deps.archive) {
    try {
      const record = await archivePackage(
        { ...deps.archive, ledger: deps.archive.ledger ?? deps.ledger },
        { dir, packageId, regulation: control.regulation, actor },
      );
      retainUntil = record.retainUntil;
      path = deps.archive.store.location(packageId);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(
        `archiving ${packageId}: ${(err as Error).message}`,
        'EvidenceArchiveRefused',
      );
    }
    // A retry that regenerated a package the archive already holds (same manifest) leaves the copy behind.
    await rm(dir, { recursive: true, force: true });
  }
  await rm(staging, { recursive: true, force: true });
  return {
    packageId,
    path,
    manifestSha256: generated.manifestSha256,
    files: generated.files.length,
    allControlsHeld: generated.document.allControlsHeld,
    attestationMissingFrom: generated.document.attestationMissingFrom,
    ...(retainUntil ? { retainUntil } : {}),
    ...(entry ? { ledgerSeq: entry.seq } : {}),
  };
}

/**
 * Compliance settings of a worker from its environment: FINFLOW_SIGNING_KEY(_FILE) signs manifests,
 * FINFLOW_EVIDENCE_DIR is where packages are generated (default ./evidence), FINFLOW_ARCHIVE_DIR the archive (none:
 * packages stay where they were generated), FINFLOW_AUDIT_DATABASE_URL (or DATABASE_URL) the audit ledger,
 * FINFLOW_SECURITY_POLICY the field classification that masks the trail for FINFLOW_EVIDENCE_ROLE (default auditor),
 * FINFLOW_ATTACHMENTS_DIR the files approvers attached to their decisions.
 * Undefined without a signing key: an unsigned package proves nothing.
 */
export async function closeEvidenceDepsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  opts: { policy?: RetentionPolicy } = {},
): Promise<CloseEvidenceDeps | undefined> {
  const signingKey = signingKeyFromEnv(env);
  if (!signingKey) return undefined;
  const url = env.FINFLOW_AUDIT_DATABASE_URL ?? env.DATABASE_URL;
  let ledger: AuditLedger | undefined;
  if (url) {
    const pool = resilientPool({ connectionString: url, max: 2, idleTimeoutMillis: 10_000 });
    // An idle connection the server drops (a restart, a failover) is reported here; the next append reconnects.
    // Unhandled, the event would crash the worker.
    pool.on('error', () => undefined);
    ledger = await AuditLedger.open({ pool });
  }
  const policy = securityPolicyFromEnv(env);
  const role = env.FINFLOW_EVIDENCE_ROLE ?? 'auditor';
  const attachments = attachmentStoreFromEnv(env);
  return {
    signingKey,
    evidenceRoot: env.FINFLOW_EVIDENCE_DIR ?? join(process.cwd(), 'evidence'),
    ...(env.FINFLOW_ARCHIVE_DIR
      ? { archive: { store: new FileSystemArchiveStore(env.FINFLOW_ARCHIVE_DIR), policy: opts.policy, ledger } }
      : {}),
    ledger,
    mask: (v) => maskByFieldName(v, policy, [role], { maskFreeText: true }).value,
    view: { policy, roles: [role] },
    ...(attachments ? { attachments } : {}),
  };
}

function refusal(err: unknown): never {
  if (err instanceof EvidenceInputError) throw ApplicationFailure.nonRetryable(err.message, 'InvalidEvidenceInput');
  throw err;
}

/**
 * The documentation task's activity. Deterministic for one input and `asOf` (history cut at `asOf`, files written
 * only when changed, the manifest signed with Ed25519), so a retry after a crash resumes and yields the same
 * package; it heartbeats per step and per file, so a short heartbeat timeout catches a dead worker. Without `deps`
 * the settings come from the worker's environment at the first call.
 */
export function createCloseEvidenceActivities(
  deps?: CloseEvidenceDeps,
  defaults: Pick<CloseEvidenceDeps, 'resultStore' | 'exceptionActions' | 'envelope'> = {},
) {
  let resolved: Promise<CloseEvidenceDeps | undefined> | undefined;
  const get = async (): Promise<CloseEvidenceDeps> => {
    resolved ??= (deps ? Promise.resolve(deps) : closeEvidenceDepsFromEnv()).then((d) =>
      d ? { ...defaults, ...d } : d,
    );
    const d = await resolved;
    if (!d)
      throw ApplicationFailure.nonRetryable(
        'evidence packages need a signing key: set FINFLOW_SIGNING_KEY or FINFLOW_SIGNING_KEY_FILE on the worker',
        'EvidenceNotConfigured',
      );
    return d;
  };
  return {
    async produceCloseEvidence(input: CloseEvidenceInput): Promise<CloseEvidenceResult> {
      try {
        return await produceCloseEvidence(await get(), input);
      } catch (err) {
        return refusal(err);
      }
    },
  };
}
