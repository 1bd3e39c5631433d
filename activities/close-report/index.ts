// generateCloseReport: the close's report task (kind 'report'). Writes <dir>/<close>/close-report.md, .html and .pdf
// from the close's own status: Gantt chart and dependency graph (SVG in the HTML, vector paths in the PDF, Mermaid
// in the Markdown), the status table, and in the text formats the reconciliation figures and the actions taken. Idempotent: the content depends only on the
// status handed in (no clock), and files are replaced whole (written aside, then renamed), so a retry rewrites the
// same bytes.
//
// Worker configuration: FINFLOW_CLOSE_REPORT_DIR (default .finflow/close-reports under the worker's working
// directory). The HTML's pictures are SVG drawn here (svg.ts); the Markdown keeps the Mermaid source.
import { join, resolve } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { writeAtomically, withTextFile } from '../reports/files';
import type { ReportStatus } from './model';
import { renderClosePdf } from './pdf';
import { renderHtml, renderMarkdown } from './render';

export { closeDependencyGraph, closeGantt, mermaidIds } from './mermaid';
export { ganttLayout, type GanttLayout } from './gantt-layout';
export {
  graphLayout,
  longestPathLayers,
  orderLayers,
  countCrossings,
  wrapText,
  type GraphLayout,
} from './graph-layout';
export { bars, dependencies, type ReportStatus, type ReportTask } from './model';
export { ganttSvg, graphSvg } from './svg';
export { renderClosePdf } from './pdf';
export { renderHtml, renderMarkdown } from './render';
export { shortTime, statusRows, STATUS_COLUMNS, textTable, type StatusRow } from './table';

export interface CloseReportConfig {
  dir?: string;
}

export interface CloseReportInput {
  closeWorkflowId: string;
  /** The close's CloseStatus (any status with at least the fields of ReportStatus). */
  status: ReportStatus;
}

export interface CloseReportResult {
  paths: string[];
  files: { path: string; sha256: string; bytes: number }[];
}

export function closeReportConfigFromEnv(env: NodeJS.ProcessEnv = process.env): CloseReportConfig {
  return {
    dir: env.FINFLOW_CLOSE_REPORT_DIR?.trim() || undefined,
  };
}

/** `close:ACME:2026-10` -> `close_ACME_2026-10`: a directory name on every platform (no ':'). */
export function closeReportDirName(closeWorkflowId: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(closeWorkflowId) || closeWorkflowId.includes('..'))
    throw ApplicationFailure.nonRetryable(
      `close workflow id ${JSON.stringify(closeWorkflowId)} cannot name a report directory`,
      'InvalidCloseReport',
    );
  return closeWorkflowId.replace(/:/g, '_');
}

export async function generateCloseReportWith(
  config: CloseReportConfig,
  input: CloseReportInput,
): Promise<CloseReportResult> {
  const { status } = input;
  if (!status || !Array.isArray(status.tasks))
    throw ApplicationFailure.nonRetryable(
      'generateCloseReport needs the close status with its tasks',
      'InvalidCloseReport',
    );
  const dir = join(resolve(config.dir ?? join('.finflow', 'close-reports')), closeReportDirName(input.closeWorkflowId));
  const outputs: [string, string | Buffer][] = [
    [join(dir, 'close-report.md'), renderMarkdown(status)],
    [join(dir, 'close-report.html'), renderHtml(status)],
    [join(dir, 'close-report.pdf'), await renderClosePdf(status)],
  ];
  const files: CloseReportResult['files'] = [];
  for (const [path, content] of outputs) {
    const f = await writeAtomically(path, async (sink) => {
      if (typeof content !== 'string') {
        // The sink's completion is awaited by writeAtomically before the rename.
        sink.open().end(content);
        return status.tasks.length;
      }
      return withTextFile(sink.open(), async (write) => {
        await write(content);
        return status.tasks.length;
      });
    });
    files.push({ path: f.path, sha256: f.sha256, bytes: f.bytes });
  }
  return { paths: files.map((f) => f.path), files };
}

export interface CloseReportActivityDeps {
  closeReport?: CloseReportConfig;
}

/**
 * Retries: a failed write (disk full, permissions) may clear up, and a rewrite is harmless, so the default
 * retry policy applies; a bad input is refused non-retryable.
 */
export function createCloseReportActivities(deps: CloseReportActivityDeps = {}) {
  const config = deps.closeReport ?? closeReportConfigFromEnv();
  return {
    generateCloseReport: (input: CloseReportInput) => generateCloseReportWith(config, input),
  };
}
