// Reading a document a person wrote (a close plan, a reconciliation definition, an approval or security policy):
// JSON when the file's name ends in .json, YAML otherwise (YAML reads JSON too). A file that cannot be read or
// parsed is an error naming it (and the line, where the parser says).
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/** The parsed document; errors start with `where` (the path unless told otherwise). */
export function readDocument(path: string, where: string = path): unknown {
  try {
    const text = readFileSync(path, 'utf8');
    return /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
}
