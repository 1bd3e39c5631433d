// Reading a document a person wrote (a close plan, a reconciliation definition, an approval or security policy):
// JSON when the file's name ends in .json, YAML otherwise (YAML reads JSON too). A file that cannot be read or
// parsed is an error naming it (and the line, where the parser says).
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { deprecationWarning, SpellingConflictError, type CasingResult } from '../domain/casing';

/** The parsed document; errors start with `where` (the path unless told otherwise). */
export function readDocument(path: string, where: string = path): unknown {
  try {
    const text = readFileSync(path, 'utf8');
    return /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
}

/** Where a reader's warnings go: the CLI's and the worker's stderr unless a caller passes its logger. */
export type Warn = (message: string) => void;
export const warnOnStderr: Warn = (message) => void process.stderr.write(`finflow: warning: ${message}\n`);

const warned = new Set<string>();

/**
 * A document in finflow's one casing (issue 19): read, its keys normalised by `normalise` (a schema's
 * domain/casing.ts pass), a field given in both spellings refused naming both, and old spellings reported in one
 * warning per file (on stderr: once per process, since a worker reads its security policy for every evidence
 * package; to `warn` when given: each read).
 */
export function readCasedDocument(
  path: string,
  normalise: (raw: unknown) => CasingResult,
  opts: { where?: string; warn?: Warn } = {},
): unknown {
  return readCasedDocumentAsWritten(path, normalise, opts).value;
}

/** readCasedDocument's value, with the document as written (to name a problem's field as the file spells it). */
export function readCasedDocumentAsWritten(
  path: string,
  normalise: (raw: unknown) => CasingResult,
  opts: { where?: string; warn?: Warn } = {},
): { value: unknown; written: unknown } {
  const where = opts.where ?? path;
  const written = readDocument(path, where);
  const keyed = normalise(written);
  if (keyed.conflicts.length) throw new SpellingConflictError(keyed.conflicts, where);
  const warning = deprecationWarning(where, keyed.deprecated);
  if (warning && opts.warn) opts.warn(warning);
  else if (warning && !warned.has(`${path}\0${warning}`)) {
    warned.add(`${path}\0${warning}`);
    warnOnStderr(warning);
  }
  return { value: keyed.value, written };
}
