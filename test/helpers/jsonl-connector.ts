// A connector of the tests' own (issue 16, connectors as plug-ins): a system is a directory of JSON-lines files (its
// URL `file:///dir`), its query `<file>.jsonl [WHERE <field> = :<param>]` with one named parameter. Amounts must come
// as text: a JSON number is reported as bad data naming the file, line and field.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SourceDataError, type ConnectorFactory, type ConnectorRow } from '../../client/library';

/** The test's connector: a system is a directory of .jsonl files (its URL `file:///dir`). */
export const jsonl: ConnectorFactory = (target) => ({
  async *open(request) {
    const m = /^(\S+\.jsonl)(?:\s+WHERE\s+(\w+)\s*=\s*:(\w+))?$/.exec(request.query ?? '');
    if (!m) throw new Error(`source ${request.source}: a jsonl query is "<file>.jsonl [WHERE <field> = :<param>]"`);
    const [, file, field, param] = m;
    const wanted = param === undefined ? undefined : request.params[param];
    if (param !== undefined && wanted === undefined)
      throw new Error(`source ${request.source}: parameter :${param} has no value`);
    const text = await readFile(join(fileURLToPath(target.url as string), file), 'utf8');
    let batch: ConnectorRow[] = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i].trim()) continue;
      let row: Record<string, unknown>;
      try {
        row = JSON.parse(lines[i]) as Record<string, unknown>;
      } catch {
        throw new SourceDataError({ source: file, line: i + 1 }, 'not a JSON object');
      }
      const values: Record<string, string | null> = {};
      for (const [k, v] of Object.entries(row)) {
        // Money is never a float: an amount must come as its exact text.
        if (typeof v === 'number') throw new SourceDataError({ source: file, line: i + 1, field: k }, 'a JSON number');
        values[k] = v === null ? null : String(v);
      }
      if (field !== undefined && values[field] !== String(wanted?.value)) continue;
      batch.push({ line: i + 1, values });
      if (batch.length >= request.batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  },
});
