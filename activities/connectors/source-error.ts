// The one error every file connector throws for bad input. It names the source and, as precisely as the format
// allows, where in it the problem is (line for text files, row for sheets, field or XML element), so a controller
// can open the file and see the cause without reading code.
import { basename } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';

export interface SourceLocation {
  /** File path or source name. */
  source: string;
  /** 1-based line in a text file (CSV, XML, MT940, BAI2). */
  line?: number;
  /** 1-based row in a sheet (XLSX). */
  row?: number;
  /** Column, tag or element path the problem is in. */
  field?: string;
}

/**
 * Bad input in a source, where it is (source, line or row, field) and why: thrown by every connector, finflow's own
 * and plug-ins (contracts/connector.ts), for data no retry can fix. `new SourceDataError({ source: 'gl.jsonl', line:
 * 2, field: 'amount' }, 'a JSON number')` fails the reconciliation without retry with "gl.jsonl line 2, field
 * amount: a JSON number".
 */
export class SourceDataError extends Error {
  readonly source: string;
  readonly line?: number;
  readonly row?: number;
  readonly field?: string;
  readonly reason: string;

  constructor(where: SourceLocation, reason: string) {
    super(describe(where, reason));
    this.name = 'SourceDataError';
    this.source = where.source;
    this.line = where.line;
    this.row = where.row;
    this.field = where.field;
    this.reason = reason;
  }
}

// The message carries the file's base name, not its full path: messages travel into workflow history and
// notifications, and a directory layout is nobody's business there. The full path stays in `source`.
function describe(where: SourceLocation, reason: string): string {
  let at = basename(where.source) || where.source;
  if (where.line !== undefined) at += ` line ${where.line}`;
  if (where.row !== undefined) at += ` row ${where.row}`;
  if (where.field !== undefined) at += `, field ${where.field}`;
  return `${at}: ${reason}`;
}

/**
 * Bad input is a business refusal: retrying the activity would read the same bytes and fail the same way, so a
 * SourceDataError becomes a non-retryable ApplicationFailure of type 'SourceDataError' (details: where and why).
 * Anything else is returned unchanged, so callers can write `throw toSourceFailure(err)` in one catch.
 */
export function toSourceFailure(err: unknown): unknown {
  if (!(err instanceof SourceDataError)) return err;
  return ApplicationFailure.nonRetryable(err.message, 'SourceDataError', {
    source: basename(err.source),
    line: err.line ?? null,
    row: err.row ?? null,
    field: err.field ?? null,
    reason: err.reason,
  });
}

/** Shortens a value quoted in an error, so a bad cell is recognisable without copying whole lines into history. */
export function quote(value: string, max = 24): string {
  const s = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(s);
}
