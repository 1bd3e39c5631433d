// A close's evidence package as its reader role sees it, with each reconciliation's exception values sealed under
// that reconciliation's data key (domain/compliance/exception-view.ts), and the read of those values back by a
// person holding the keys (`finflow evidence open`), access-logged like every read of sealed data.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReconciliationSummary } from '../../contracts';
import { type EvidenceDocument, parseEvidenceDocument } from '../../domain/compliance/evidence';
import {
  applyExceptionViews,
  sealContext,
  unsealedException,
  type ReconDataView,
} from '../../domain/compliance/exception-view';
import { EVIDENCE_SCHEMA_VERSION } from '../../domain/compliance/evidence';
import type { SecurityPolicy } from '../../domain/security/policy';
import type { AccessLog } from '../security/access-log';
import { readSealedHeader } from '../security/file-seal';
import { DataKeyMissingError, type EnvelopeEncryption } from '../security/envelope';
import { EvidenceSealer } from '../security/evidence-seal';
import { EVIDENCE_FILE } from './package';

export type EnvelopeSource = EnvelopeEncryption | (() => Promise<EnvelopeEncryption>);

async function envelopeOf(source: EnvelopeSource): Promise<EnvelopeEncryption> {
  return typeof source === 'function' ? source() : source;
}

/** The dataset of a result-store run (`<workflowId>/<runId>`): its reconciliation's workflow id, as its extracts. */
export function datasetOfRun(runId: string): string {
  const i = runId.lastIndexOf('/');
  return i > 0 ? runId.slice(0, i) : runId;
}

export interface EvidenceViews {
  /** Turns the built document into what the package shows (GenerateOptions.view). */
  view: (doc: EvidenceDocument) => EvidenceDocument;
  /** Datasets whose values the package seals. */
  sealedDatasets: string[];
  /** Destroys the unwrapped keys; call when the package is written. */
  dispose(): void;
}

/**
 * The views of a close's reconciliations for `roles`: each at the classification its sealed reports record (the
 * stricter source, and each side's), else the policy's default; each sealed under its dataset's key when that
 * dataset has one (a run extracted by a worker without keys has none and is shown viewed only).
 */
export async function evidenceViews(opts: {
  policy: SecurityPolicy;
  roles: string[];
  reconciliations: readonly ReconciliationSummary[];
  reportsOf: (s: ReconciliationSummary) => { path: string }[];
  envelope?: EnvelopeSource;
}): Promise<EvidenceViews> {
  const recons: Record<string, ReconDataView> = {};
  const sealers: EvidenceSealer[] = [];
  const dispose = () => sealers.forEach((s) => s.dispose());
  try {
    for (const s of opts.reconciliations) {
      let view: ReconDataView = { level: opts.policy.defaultClassification };
      for (const r of opts.reportsOf(s)) {
        const header = await readSealedHeader(r.path).catch(() => undefined);
        if (header?.classification) {
          view = { level: header.classification, ...(header.sides ? { sides: header.sides } : {}) };
          break;
        }
      }
      const runId = (s as unknown as { runId?: unknown }).runId;
      if (opts.envelope && typeof runId === 'string') {
        const dataset = datasetOfRun(runId);
        const envelope = await envelopeOf(opts.envelope);
        let sealer: EvidenceSealer | undefined;
        try {
          const cipher = await envelope.open(dataset, { create: false });
          try {
            sealer = EvidenceSealer.of(cipher);
          } finally {
            cipher.dispose();
          }
        } catch (err) {
          if (!(err instanceof DataKeyMissingError)) throw err;
        }
        if (sealer) {
          sealers.push(sealer);
          const live = sealer;
          view = { ...view, seal: { dataset, seal: (clear, context) => live.seal(clear, context) } };
        }
      }
      recons[s.reconId] = view;
    }
  } catch (err) {
    dispose();
    throw err;
  }
  return {
    view: (doc) => applyExceptionViews(doc, opts.policy, opts.roles, recons),
    sealedDatasets: sealers.map((s) => s.dataset),
    dispose,
  };
}

/** Datasets whose values an evidence document seals, with how many of its exceptions each holds. */
export function sealedDatasetsOf(doc: EvidenceDocument): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of doc.exceptions.items) {
    const d = e.view?.sealed?.dataset;
    if (d) out.set(d, (out.get(d) ?? 0) + 1);
  }
  return out;
}

export async function readEvidenceDocument(dir: string): Promise<EvidenceDocument> {
  const path = join(dir, EVIDENCE_FILE);
  return parseEvidenceDocument(JSON.parse(await readFile(path, 'utf8')) as unknown, path);
}

export interface OpenedEvidence {
  packageId: string;
  /** Datasets opened, with the number of exceptions unsealed from each. */
  opened: { dataset: string; exceptions: number }[];
  out: string;
}

/**
 * Writes evidence.json of a package with its sealed exception values in clear (mode 0600) for a person holding the
 * keys; each dataset read is access-logged (allowed, or denied with the reason: shredded, no key). A shredded
 * dataset refuses the whole read, naming it: the package's other values stay as they are shown.
 */
export async function openSealedEvidence(
  dir: string,
  envelope: EnvelopeEncryption,
  opts: { out: string; actor: string; purpose: string; accessLog: AccessLog },
): Promise<OpenedEvidence> {
  const doc = await readEvidenceDocument(dir);
  const datasets = sealedDatasetsOf(doc);
  const sealers = new Map<string, EvidenceSealer>();
  try {
    for (const dataset of datasets.keys()) {
      const event = {
        actor: opts.actor,
        action: 'read' as const,
        resource: dataset,
        fields: [`evidence:${doc.packageId}`],
        purpose: opts.purpose,
      };
      try {
        const cipher = await envelope.open(dataset, { create: false });
        try {
          sealers.set(dataset, EvidenceSealer.of(cipher));
        } finally {
          cipher.dispose();
        }
      } catch (err) {
        await opts.accessLog.record({ ...event, outcome: 'denied' });
        throw new Error(`evidence package ${doc.packageId}: ${(err as Error).message}`);
      }
      await opts.accessLog.record({ ...event, outcome: 'allowed' });
    }
    const items = doc.exceptions.items.map((e) => {
      const sealed = e.view?.sealed;
      if (!sealed) return e;
      const clear = sealers.get(sealed.dataset)!.open(sealed.value, sealContext(doc.packageId, e.id));
      return unsealedException(e, clear);
    });
    const clearDoc = {
      ...doc,
      schemaVersion: items.some((e) => e.view) ? doc.schemaVersion : EVIDENCE_SCHEMA_VERSION,
      exceptions: { ...doc.exceptions, items },
    };
    const tmp = `${opts.out}.${process.pid}.tmp`;
    try {
      await writeFile(tmp, `${JSON.stringify(clearDoc, null, 2)}\n`, { mode: 0o600 });
      await rename(tmp, opts.out);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return {
      packageId: doc.packageId,
      opened: [...datasets].map(([dataset, exceptions]) => ({ dataset, exceptions })),
      out: opts.out,
    };
  } finally {
    for (const s of sealers.values()) s.dispose();
  }
}
