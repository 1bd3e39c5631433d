import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDocument } from '../../activities/document-file';
import { readClosePlan } from '../../client/close-plan-file';
import { readReconDefinition } from '../../client/recon-run';

const dir = mkdtempSync(join(tmpdir(), 'finflow-doc-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('reading a document a person wrote', () => {
  it('reads YAML from a .yaml or .yml file and JSON from a .json file', () => {
    expect(readDocument(file('a.yaml', 'id: gl\nrules: [1, 2]\n'))).toEqual({ id: 'gl', rules: [1, 2] });
    expect(readDocument(file('b.yml', 'x: "1.10"\n'))).toEqual({ x: '1.10' });
    expect(readDocument(file('c.json', '{"x": 1}'))).toEqual({ x: 1 });
  });

  it('names the file and the line when a YAML document does not parse', () => {
    const p = file('bad.yaml', 'id: gl\n  rules: [\n');
    expect(() => readDocument(p)).toThrow(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: .*line`, 's'));
  });

  it('names the file when JSON is malformed, and a label when one is given', () => {
    const p = file('bad.json', '{"x": ');
    expect(() => readDocument(p)).toThrow(`${p}: `);
    expect(() => readDocument(p, `--policy ${p}`)).toThrow(`--policy ${p}: `);
  });

  it('names a file that does not exist', () => {
    expect(() => readDocument(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml: ENOENT/);
  });

  it('reads close plans and reconciliation definitions through the same reader', () => {
    const plan = file('plan.yaml', 'company: acme\nperiod: 2026-11\ntasks:\n  - id: t1\n    kind: manual\n');
    expect(readClosePlan(plan)).toMatchObject({ company: 'acme', period: '2026-11' });
    expect(() => readClosePlan(file('broken-plan.yml', 'company: [\n'))).toThrow(/broken-plan\.yml: /);
    const def = file('def.json', JSON.stringify({ definition: { id: 'gl-vs-erp', a: {}, b: {}, rules: [] } }));
    expect(readReconDefinition(def)).toMatchObject({ id: 'gl-vs-erp' });
  });
});
