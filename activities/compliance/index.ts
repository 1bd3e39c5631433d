// Compliance activities: evidence packages, their verification, archive and retention. Built from their
// dependencies like every activity factory, so tests and the worker hand in keys, directories and stores alike.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  EvidenceInputError,
  evidencePackageId,
  parseEvidenceInput,
  type EvidenceInputRaw,
} from '../../domain/compliance/evidence';
import { archivePackage, type ArchiveDeps, type ArchiveRecord } from './archive';
import { generateEvidencePackage, type GenerateResult } from './package';
import type { SigningKey } from './signing';

export * from './archive';
export * from './close-evidence';
export * from './trail';
export * from './files';
export * from './manifest';
export * from './package';
export * from './signing';
export * from './verify';
export { renderEvidenceHtml } from './render-html';
export { renderEvidencePdf, pdfExceptionSelection, pdfText, PDF_MAX_EXCEPTION_ROWS } from './render-pdf';

/**
 * Reads exceptions from a JSON-lines file (one exception object per line), the way a large close hands them over
 * instead of through workflow history. A bad line is named by number.
 */
export async function readExceptionsFile(path: string): Promise<unknown[]> {
  const text = await readFile(path, 'utf8');
  const out: unknown[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line));
    } catch (err) {
      throw new EvidenceInputError(`${path}:${i + 1}: not a JSON object (${(err as Error).message})`);
    }
  });
  return out;
}

export interface ComplianceDeps {
  signingKey: SigningKey;
  /** Packages are generated in `<evidenceRoot>/<packageId>`. */
  evidenceRoot: string;
  archive?: ArchiveDeps;
}

function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // Not inside an activity (a CLI run, a test): nobody to tell.
  }
}

function refusal(err: unknown): never {
  if (err instanceof EvidenceInputError) throw ApplicationFailure.nonRetryable(err.message, 'InvalidEvidenceInput');
  throw err;
}

export function createComplianceActivities(deps: ComplianceDeps) {
  return {
    /**
     * One package per control per close. Resumable and idempotent (see package.ts), so retries are safe and a
     * worker crash mid-way costs only the files not yet written; it heartbeats after each file, so a generous
     * start-to-close timeout with a short heartbeat timeout catches a dead worker quickly.
     */
    async generateEvidencePackage(
      input: Omit<EvidenceInputRaw, 'exceptions'> & {
        exceptions?: EvidenceInputRaw['exceptions'];
        exceptionsFile?: string;
      },
    ): Promise<Omit<GenerateResult, 'files'> & { files: number }> {
      try {
        const { exceptionsFile, ...rest } = input;
        if (exceptionsFile && rest.exceptions)
          throw new EvidenceInputError('give exceptions inline or as exceptionsFile, not both');
        const raw = {
          ...rest,
          exceptions: exceptionsFile ? await readExceptionsFile(exceptionsFile) : rest.exceptions,
        };
        const parsed = parseEvidenceInput(raw);
        const dir = join(deps.evidenceRoot, evidencePackageId(parsed.control, parsed.close));
        const r = await generateEvidencePackage(parsed, {
          dir,
          signingKey: deps.signingKey,
          onFile: (s) => heartbeat({ file: s.path }),
        });
        return { ...r, files: r.files.length };
      } catch (err) {
        return refusal(err);
      }
    },

    /** Moves a package into the archive; idempotent by package id and manifest hash. */
    async archiveEvidencePackage(input: {
      packageId: string;
      regulation: string;
      actor: string;
    }): Promise<ArchiveRecord> {
      if (!deps.archive)
        throw ApplicationFailure.nonRetryable('no archive store is configured', 'ArchiveNotConfigured');
      return archivePackage(deps.archive, { ...input, dir: join(deps.evidenceRoot, input.packageId) });
    },
  };
}
