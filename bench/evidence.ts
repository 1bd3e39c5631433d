// npm run bench:evidence: the evidence package of a close with 50 reconciliations and 100,000 exceptions
// (generated, a quarter of them still open), through the activity path a worker uses (exceptions handed over as a
// JSON-lines file, xlsx reports copied in). Prints the generation time (target < 10 s; the seed asks < 30 s),
// a rerun that finds every file in place, and verification.
import ExcelJS from 'exceljs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createComplianceActivities, generateSigningKey, verifyEvidencePackage } from '../activities/compliance';
import { soxScenarioInput, writeHistoryFiles } from '../test/activities/compliance-fixture';

const RECONCILIATIONS = Number(process.env.BENCH_RECONCILIATIONS ?? 50);
const EXCEPTIONS = Number(process.env.BENCH_EXCEPTIONS ?? 100_000);
const TARGET_MS = 10_000;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'finflow-bench-evidence-'));
  try {
    const setup = performance.now();
    const input = soxScenarioInput({ reconciliations: RECONCILIATIONS, exceptions: EXCEPTIONS, openEvery: 4 });
    const exceptionsFile = join(work, 'exceptions.jsonl');
    writeFileSync(exceptionsFile, input.exceptions.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const xlsx = join(work, 'exceptions.xlsx');
    const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: xlsx });
    const ws = wb.addWorksheet('Exceptions');
    ws.addRow(['Id', 'Reconciliation', 'Key', 'Category', 'Difference', 'Resolution']).commit();
    for (const e of input.exceptions)
      ws.addRow([e.id, e.reconId, e.key, e.category, e.difference, e.resolution.status]).commit();
    ws.commit();
    await wb.commit();
    const history = writeHistoryFiles(work);
    const { exceptions: _inline, ...rest } = input;
    const activityInput = {
      ...rest,
      exceptionsFile,
      attachments: [
        { kind: 'exception_report', path: xlsx },
        { kind: 'workflow_history', path: history.jsonl },
        { kind: 'workflow_history', path: history.html },
      ],
    };
    const setupMs = performance.now() - setup;

    const key = generateSigningKey();
    const activities = createComplianceActivities({ signingKey: key, evidenceRoot: join(work, 'evidence') });
    let t = performance.now();
    const first = await activities.generateEvidencePackage(activityInput);
    const generateMs = performance.now() - t;
    t = performance.now();
    const rerun = await activities.generateEvidencePackage(activityInput);
    const rerunMs = performance.now() - t;
    t = performance.now();
    const verified = await verifyEvidencePackage(first.dir, key.publicKey);
    const verifyMs = performance.now() - t;
    if (!verified.ok) throw new Error(`the package does not verify: ${verified.errors.join('; ')}`);
    if (rerun.manifestSha256 !== first.manifestSha256) throw new Error('the rerun produced a different manifest');

    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(`evidence package: ${RECONCILIATIONS} reconciliations, ${EXCEPTIONS} exceptions (setup ${s(setupMs)})`);
    console.log(`  generate         ${s(generateMs)}  (${first.written} files written; target < ${s(TARGET_MS)})`);
    console.log(`  rerun (resume)   ${s(rerunMs)}  (${rerun.skipped} files already in place, same manifest)`);
    console.log(`  verify           ${s(verifyMs)}  (${verified.filesChecked} files + signature)`);
    console.log(`  manifest sha256  ${first.manifestSha256}`);
    console.log(generateMs < TARGET_MS ? 'PASS: under target' : 'MISS: over target');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
