// The close's audit trail from Temporal's own history. The server forgets a closed workflow after the namespace's
// retention period, so at the end of a close the histories of the parent and every child are fetched, their
// payloads decoded through the codec chain (the server only ever held ciphertext), masked per field
// classification, and written as JSON lines plus an HTML table: every signal with its payload (approvals and
// refusals), timer, activity with its result or failure message, child workflow, each with its event time.
//
// Temporal records what was signalled, not who pressed the button: the approval payloads themselves (signed by
// the approval gateway) carry the approver's identity.
//
// When this runs as an activity of the close itself, the parent's history ends at the activity's scheduling (the
// workflow is still running); run it after the close completes (the CLI does) for the complete trail.
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, type PayloadCodec, type PayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { esc } from './compliance/render-html';
import { writeIfChanged } from './compliance/files';

type Payload = temporal.api.common.v1.IPayload;
const HistoryEvent = temporal.api.history.v1.HistoryEvent;

export const HISTORY_JSONL = 'history.jsonl';
export const HISTORY_HTML = 'history.html';

/** Masks a decoded payload value (e.g. `v => maskByFieldName(v, policy, roles).value` from domain/security). */
export type HistoryMask = (value: unknown) => unknown;

export interface HistoryExportDeps {
  client: Client;
  /** The codecs of the data converter, in the order the data converter lists them. */
  codecs?: PayloadCodec[];
  payloadConverter?: PayloadConverter;
  mask?: HistoryMask;
}

export interface TrailEntry {
  workflowId: string;
  runId: string;
  workflowType: string;
  eventId: number;
  /** ISO 8601 UTC, millisecond precision. */
  time: string;
  /** The event type without its EVENT_TYPE_ prefix, e.g. TIMER_STARTED. */
  event: string;
  /** One human sentence. */
  summary: string;
  /** The event's attributes with payloads decoded and masked. */
  details: unknown;
}

export interface HistoryExportResult {
  workflows: { workflowId: string; runId: string; workflowType: string; events: number }[];
  entries: number;
  files: { path: string; sha256: string; bytes: number }[];
}

/** Workflow-task bookkeeping: on every step of every workflow, and meaningless to an auditor. */
const BOOKKEEPING = new Set(['WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED', 'WORKFLOW_TASK_COMPLETED']);

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

function isPayload(v: unknown): v is Payload {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  if (!o.metadata || typeof o.metadata !== 'object') return false;
  if (o.data !== undefined && o.data !== null && !isBytes(o.data)) return false;
  return Object.values(o.metadata as object).every(isBytes);
}

function isPayloads(v: unknown): v is { payloads: Payload[] } {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return Object.keys(o).length === 1 && Array.isArray(o.payloads) && o.payloads.every(isPayload);
}

function durationText(d: unknown): string | undefined {
  if (!d || typeof d !== 'object') return undefined;
  const { seconds, nanos } = d as { seconds?: string; nanos?: number };
  let s = Number(seconds ?? 0);
  if (nanos) s += nanos / 1e9;
  const parts: string[] = [];
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = Math.round((s % 60) * 1000) / 1000;
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${m}m`);
  if (rest || !parts.length) parts.push(`${rest}s`);
  return parts.join('');
}

function timeText(t: unknown): string {
  const { seconds, nanos } = (t ?? {}) as { seconds?: string; nanos?: number };
  return new Date(Number(seconds ?? 0) * 1000 + Math.floor((nanos ?? 0) / 1e6)).toISOString();
}

function brief(v: unknown, max = 240): string {
  const s = JSON.stringify(v) ?? 'undefined';
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function base64urlJson(part: string): unknown {
  const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
  return v;
}

/**
 * A signed approval (or resubmission) token in a payload is the approver's proof of identity, but its claims are
 * only base64: left as it is, a restricted field inside (the comments) would reach the trail unmasked. So each token
 * becomes its parts: the protected header (algorithm, key id), the claims (masked with the rest of the payload),
 * the signature, and the SHA-256 of the whole token, which whoever holds the original (the close's history, read
 * with the payload keys) can match and verify against the gateway's public key.
 */
export function expandSignedTokens(value: unknown, depth = 0): unknown {
  if (depth > 100 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => expandSignedTokens(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'token' && typeof v === 'string' && COMPACT_JWS.test(v)) {
      const [h, c, sig] = v.split('.');
      try {
        out[k] = {
          jws: {
            protectedHeader: base64urlJson(h),
            claims: base64urlJson(c),
            signature: sig,
            sha256: createHash('sha256').update(v).digest('hex'),
          },
        };
        continue;
      } catch {
        out[k] = { unreadableToken: { sha256: createHash('sha256').update(v).digest('hex') } };
        continue;
      }
    }
    out[k] = expandSignedTokens(v, depth + 1);
  }
  return out;
}

class Decoder {
  constructor(private readonly deps: HistoryExportDeps) {}

  async payload(p: Payload): Promise<unknown> {
    let ps = [p];
    // Decoding runs the codec chain backwards: the last codec applied on encode is the first undone.
    try {
      for (const codec of [...(this.deps.codecs ?? [])].reverse()) ps = await codec.decode(ps);
    } catch (err) {
      return { undecodable: `codec: ${(err as Error).message}` };
    }
    try {
      const value = expandSignedTokens((this.deps.payloadConverter ?? defaultPayloadConverter).fromPayload(ps[0]));
      return this.deps.mask ? this.deps.mask(value) : value;
    } catch (err) {
      // Never fall back to raw bytes: an undecodable payload may be ciphertext or unmasked data.
      const enc = ps[0].metadata?.encoding;
      return { undecodable: `${enc ? Buffer.from(enc).toString() : 'unknown encoding'}: ${(err as Error).message}` };
    }
  }

  async failure(f: Record<string, unknown>): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    let message = f.message;
    if (isPayload(f.encodedAttributes)) {
      // encodeCommonAttributes moved the real message into a (usually encrypted) payload.
      const attrs = (await this.payload(f.encodedAttributes)) as { message?: unknown } | undefined;
      if (attrs && typeof attrs === 'object' && typeof attrs.message === 'string') message = attrs.message;
    }
    out.message = message;
    for (const [k, v] of Object.entries(f)) {
      // Stack traces are worker internals (file paths, line numbers), not audit evidence.
      if (k === 'message' || k === 'encodedAttributes' || k === 'stackTrace') continue;
      out[k] =
        k === 'cause' && v && typeof v === 'object'
          ? await this.failure(v as Record<string, unknown>)
          : await this.tree(v);
    }
    return out;
  }

  async tree(v: unknown): Promise<unknown> {
    if (v === null || v === undefined || typeof v !== 'object') return v;
    if (isBytes(v)) return { bytes: v.length };
    if (Array.isArray(v)) return Promise.all(v.map((x) => this.tree(x)));
    if (isPayload(v)) return this.payload(v);
    if (isPayloads(v)) return Promise.all(v.payloads.map((p) => this.payload(p)));
    const out: Record<string, unknown> = {};
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      if (k === 'failure' && child && typeof child === 'object')
        out[k] = await this.failure(child as Record<string, unknown>);
      else out[k] = await this.tree(child);
    }
    return out;
  }
}

interface Named {
  workflowId: string;
  runId: string;
}

/** "sam approved recon-review round 1 (signed token, key K, nonce N)" for a payload carrying an expanded token. */
function signedTokenSummary(v: unknown): string | undefined {
  const jws = (v as { token?: { jws?: { protectedHeader?: { kid?: unknown }; claims?: Record<string, unknown> } } })
    ?.token?.jws;
  const c = jws?.claims;
  if (!c) return undefined;
  return (
    `${String(c.sub ?? '?')} ${String(c.decision ?? 'resubmitted')} ${String(c.checkpointId ?? '?')} ` +
    `round ${String(c.round ?? '?')} (signed token, key ${String(jws?.protectedHeader?.kid ?? '?')}, nonce ${String(c.jti ?? '?')})`
  );
}

function summarise(event: string, d: Record<string, unknown>, activities: Map<string, string>): string {
  const first = (x: unknown) => (Array.isArray(x) ? (x.length === 1 ? x[0] : x) : x);
  const failureMsg = (f: unknown) => {
    const m = (f as { message?: unknown } | undefined)?.message;
    return typeof m === 'string' ? m : 'no message';
  };
  const typeName = (x: unknown) => (x as { name?: string } | undefined)?.name ?? '?';
  const child = (x: unknown) => (x as { workflowId?: string } | undefined)?.workflowId ?? '?';
  const act = () => activities.get(String(d.scheduledEventId)) ?? 'activity';
  switch (event) {
    case 'WORKFLOW_EXECUTION_STARTED':
      return `workflow ${typeName(d.workflowType)} started on task queue ${(d.taskQueue as { name?: string })?.name ?? '?'}`;
    case 'WORKFLOW_EXECUTION_COMPLETED':
      return `workflow completed: ${brief(first(d.result))}`;
    case 'WORKFLOW_EXECUTION_FAILED':
      return `workflow failed: ${failureMsg(d.failure)}`;
    case 'WORKFLOW_EXECUTION_TERMINATED':
      return `workflow terminated${d.reason ? `: ${String(d.reason)}` : ''}${d.identity ? ` by ${String(d.identity)}` : ''}`;
    case 'WORKFLOW_EXECUTION_CANCELED':
      return 'workflow canceled';
    case 'WORKFLOW_EXECUTION_TIMED_OUT':
      return 'workflow timed out';
    case 'WORKFLOW_EXECUTION_CONTINUED_AS_NEW':
      return `workflow continued as new run ${String(d.newExecutionRunId ?? '?')}`;
    case 'WORKFLOW_EXECUTION_SIGNALED': {
      const signedBy = signedTokenSummary(first(d.input));
      return `signal ${String(d.signalName)}: ${signedBy ?? brief(first(d.input))}`;
    }
    case 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED': {
      const req = (d.acceptedRequest as { input?: { name?: string; args?: unknown } } | undefined)?.input;
      return `update ${req?.name ?? '?'} accepted: ${signedTokenSummary(first(req?.args)) ?? brief(first(req?.args))}`;
    }
    case 'WORKFLOW_EXECUTION_UPDATE_COMPLETED': {
      const o = d.outcome as { success?: unknown; failure?: unknown } | undefined;
      return o?.failure ? `update refused: ${failureMsg(o.failure)}` : `update completed: ${brief(first(o?.success))}`;
    }
    case 'TIMER_STARTED':
      return `timer ${String(d.timerId)} started for ${durationText(d.startToFireTimeout) ?? '?'}`;
    case 'TIMER_FIRED':
      return `timer ${String(d.timerId)} fired`;
    case 'TIMER_CANCELED':
      return `timer ${String(d.timerId)} canceled`;
    case 'ACTIVITY_TASK_SCHEDULED':
      return `activity ${typeName(d.activityType)} scheduled (id ${String(d.activityId)})`;
    case 'ACTIVITY_TASK_STARTED':
      return `activity ${act()} started, attempt ${String(d.attempt ?? 1)}`;
    case 'ACTIVITY_TASK_COMPLETED':
      return `activity ${act()} completed: ${brief(first(d.result))}`;
    case 'ACTIVITY_TASK_FAILED':
      return `activity ${act()} failed: ${failureMsg(d.failure)}`;
    case 'ACTIVITY_TASK_TIMED_OUT':
      return `activity ${act()} timed out: ${failureMsg(d.failure)}`;
    case 'ACTIVITY_TASK_CANCELED':
      return `activity ${act()} canceled`;
    case 'START_CHILD_WORKFLOW_EXECUTION_INITIATED':
      return `child workflow ${typeName(d.workflowType)} ${String(d.workflowId)} requested`;
    case 'START_CHILD_WORKFLOW_EXECUTION_FAILED':
      return `child workflow ${String(d.workflowId)} could not start (${String(d.cause)})`;
    case 'CHILD_WORKFLOW_EXECUTION_STARTED':
      return `child workflow ${child(d.workflowExecution)} started`;
    case 'CHILD_WORKFLOW_EXECUTION_COMPLETED':
      return `child workflow ${child(d.workflowExecution)} completed: ${brief(first(d.result))}`;
    case 'CHILD_WORKFLOW_EXECUTION_FAILED':
      return `child workflow ${child(d.workflowExecution)} failed: ${failureMsg(d.failure)}`;
    case 'CHILD_WORKFLOW_EXECUTION_TERMINATED':
    case 'CHILD_WORKFLOW_EXECUTION_CANCELED':
    case 'CHILD_WORKFLOW_EXECUTION_TIMED_OUT':
      return `child workflow ${child(d.workflowExecution)} ${event.slice('CHILD_WORKFLOW_EXECUTION_'.length).toLowerCase().replace('_', ' ')}`;
    case 'MARKER_RECORDED':
      return `marker ${String(d.markerName)}`;
    case 'WORKFLOW_TASK_FAILED':
      return `workflow task failed (${String(d.cause)}): ${failureMsg(d.failure)}`;
    default:
      return event.toLowerCase().replace(/_/g, ' ');
  }
}

async function exportOne(
  deps: HistoryExportDeps,
  decoder: Decoder,
  wf: Named,
  opts: { includeWorkflowTasks?: boolean; until?: string },
): Promise<{ entries: TrailEntry[]; children: Named[]; workflowType: string; runId: string; events: number }> {
  const handle = deps.client.workflow.getHandle(wf.workflowId, wf.runId || undefined);
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const entries: TrailEntry[] = [];
  const children: Named[] = [];
  const activities = new Map<string, string>();
  let workflowType = '?';
  let runId = wf.runId;
  const until = opts.until === undefined ? undefined : Date.parse(opts.until);
  for (const ev of events) {
    const plain = HistoryEvent.toObject(HistoryEvent.fromObject(ev), { enums: String, longs: String }) as Record<
      string,
      unknown
    >;
    // A cut-off makes an export taken while the close runs repeatable: what happened before it never changes.
    if (until !== undefined && Date.parse(timeText(plain.eventTime)) > until) break;
    const event = String(plain.eventType).replace(/^EVENT_TYPE_/, '');
    const attrKey = Object.keys(plain).find((k) => k.endsWith('EventAttributes'));
    const raw = (attrKey ? plain[attrKey] : {}) as Record<string, unknown>;
    if (event === 'WORKFLOW_EXECUTION_STARTED') {
      workflowType = (raw.workflowType as { name?: string } | undefined)?.name ?? workflowType;
      runId ||= String(raw.originalExecutionRunId ?? '');
      // A close that continued as new has earlier runs: their histories belong to the trail too.
      const previous = raw.continuedExecutionRunId;
      if (typeof previous === 'string' && previous) children.push({ workflowId: wf.workflowId, runId: previous });
    }
    if (event === 'ACTIVITY_TASK_SCHEDULED')
      activities.set(String(plain.eventId), (raw.activityType as { name?: string } | undefined)?.name ?? 'activity');
    if (event === 'CHILD_WORKFLOW_EXECUTION_STARTED') {
      const x = raw.workflowExecution as { workflowId?: string; runId?: string } | undefined;
      if (x?.workflowId) children.push({ workflowId: x.workflowId, runId: x.runId ?? '' });
    }
    if (BOOKKEEPING.has(event) && !opts.includeWorkflowTasks) continue;
    const details = (await decoder.tree(raw)) as Record<string, unknown>;
    entries.push({
      workflowId: wf.workflowId,
      runId,
      workflowType,
      eventId: Number(plain.eventId),
      time: timeText(plain.eventTime),
      event,
      summary: summarise(event, details, activities),
      details,
    });
  }
  for (const e of entries) e.runId = runId;
  return { entries, children, workflowType, runId, events: events.length };
}

function renderHtml(root: string, entries: TrailEntry[], workflows: HistoryExportResult['workflows']): string {
  const rows = entries.map(
    (e) =>
      `<tr class="${e.event.includes('FAILED') || e.event.includes('TIMED_OUT') ? 'bad' : ''}"><td>${esc(e.time)}</td><td class="mono">${esc(e.workflowId)}</td><td>${e.eventId}</td><td>${esc(e.event)}</td><td>${esc(e.summary)}</td></tr>`,
  );
  return [
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>History of ${esc(root)}</title>`,
    `<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse;font-size:.85em}th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}th{background:#f3f3f3}.mono{font-family:ui-monospace,monospace}.bad{background:#fde8ea}</style></head><body>`,
    `<h1>Workflow history of ${esc(root)}</h1>`,
    `<p>Decoded and masked from the Temporal server's event histories. Each workflow:</p><ul>`,
    ...workflows.map(
      (w) =>
        `<li class="mono">${esc(w.workflowId)} (${esc(w.workflowType)}, run ${esc(w.runId)}): ${w.events} events</li>`,
    ),
    `</ul><table><thead><tr><th>Time (UTC)</th><th>Workflow</th><th>Event id</th><th>Event</th><th>What happened</th></tr></thead><tbody>`,
    ...rows,
    `</tbody></table></body></html>\n`,
  ].join('\n');
}

/**
 * Exports the trail of `workflowId` and of every child it started (recursively) into `outDir` as history.jsonl
 * and history.html. Entries are in event-time order (ties: parent before children, then event id). Writing is
 * idempotent: the same history gives the same bytes, and an unchanged file is not rewritten.
 */
export async function exportCloseHistory(
  deps: HistoryExportDeps,
  input: {
    workflowId: string;
    runId?: string;
    outDir: string;
    includeWorkflowTasks?: boolean;
    /** ISO instant: leave out events after it (an export taken while the close still runs). */
    until?: string;
  },
): Promise<HistoryExportResult> {
  const decoder = new Decoder(deps);
  const queue: Named[] = [{ workflowId: input.workflowId, runId: input.runId ?? '' }];
  const seen = new Set<string>();
  const all: TrailEntry[][] = [];
  const workflows: HistoryExportResult['workflows'] = [];
  while (queue.length) {
    const wf = queue.shift() as Named;
    const key = `${wf.workflowId}\u0000${wf.runId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const r = await exportOne(deps, decoder, wf, input);
    all.push(r.entries);
    workflows.push({ workflowId: wf.workflowId, runId: r.runId, workflowType: r.workflowType, events: r.events });
    queue.push(...r.children);
  }
  const order = new Map(workflows.map((w, i) => [w.workflowId + w.runId, i]));
  const entries = all
    .flat()
    .sort(
      (a, b) =>
        a.time.localeCompare(b.time) ||
        (order.get(a.workflowId + a.runId) ?? 0) - (order.get(b.workflowId + b.runId) ?? 0) ||
        a.eventId - b.eventId,
    );
  const jsonl = entries.map((e) => JSON.stringify(e)).join('\n') + (entries.length ? '\n' : '');
  const a = await writeIfChanged(join(input.outDir, HISTORY_JSONL), jsonl);
  const b = await writeIfChanged(join(input.outDir, HISTORY_HTML), renderHtml(input.workflowId, entries, workflows));
  return {
    workflows,
    entries: entries.length,
    files: [
      { path: join(input.outDir, HISTORY_JSONL), sha256: a.sha256, bytes: a.bytes },
      { path: join(input.outDir, HISTORY_HTML), sha256: b.sha256, bytes: b.bytes },
    ],
  };
}

/**
 * As an activity. Fetching histories is read-only and the files are written idempotently, so retrying is always
 * safe; the timeout should allow for large histories (one page per 250 events or so).
 */
export function createHistoryExportActivities(deps: HistoryExportDeps) {
  return {
    exportCloseHistory: (input: { workflowId: string; runId?: string; outDir: string }) =>
      exportCloseHistory(deps, input),
  };
}
