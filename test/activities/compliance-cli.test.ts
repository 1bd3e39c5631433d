import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { Pool } from 'pg';
import { AuditLedger } from '../../activities/audit-ledger';
import {
  archivePackage,
  exportSigningKey,
  FileSystemArchiveStore,
  generateEvidencePackage,
  generateSigningKey,
} from '../../activities/compliance';
import { registerComplianceCommands } from '../../client/commands/compliance';
import { freshDatabase } from '../helpers/postgres';
import { soxScenarioInput } from './compliance-fixture';

const key = generateSigningKey();
let work: string;
let url: string;
let keyFile: string;
let pubFile: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'finflow-compliance-cli-'));
  url = await freshDatabase('compliance_cli');
  const pem = exportSigningKey(key);
  keyFile = join(work, 'signing.pem');
  pubFile = join(work, 'signing.pub.pem');
  writeFileSync(keyFile, pem.privateKeyPem);
  writeFileSync(pubFile, pem.publicKeyPem);
});

async function finflow(...args: string[]): Promise<{ lines: string[]; error?: string }> {
  const lines: string[] = [];
  const program = new Command('finflow').exitOverride();
  registerComplianceCommands(program, (l) => lines.push(l), {
    FINFLOW_SIGNING_KEY_FILE: keyFile,
    FINFLOW_ACTOR: 'records.manager',
  });
  try {
    await program.parseAsync(['node', 'finflow', ...args]);
    return { lines };
  } catch (err) {
    return { lines, error: (err as Error).message };
  }
}

describe('finflow audit, evidence and archive commands', () => {
  it('verifies an intact ledger against exported checkpoints, and names the first broken entry after tampering', async () => {
    const pool = new Pool({ connectionString: url, max: 2 });
    try {
      const ledger = await AuditLedger.open({ pool });
      for (let i = 1; i <= 4; i++) await ledger.append({ actor: 'w', action: 'step.done', subject: `task-${i}` });
      const cpFile = join(work, 'checkpoints.json');
      const cp = await finflow('audit', 'checkpoint', '--database-url', url, '--out', cpFile);
      expect(cp.lines).toEqual([
        expect.stringMatching(/^checkpoint at seq 4, hash [0-9a-f]{64}, key /),
        `wrote 1 checkpoint(s) to ${cpFile}`,
      ]);

      let r = await finflow('audit', 'verify', '--database-url', url, '--public-key', pubFile, '--checkpoints', cpFile);
      expect(r.error).toBeUndefined();
      expect(r.lines[0]).toMatch(
        /^audit ledger intact: 4 entries, head seq 4 hash [0-9a-f]{64}; 2 checkpoint\(s\) matched$/,
      );

      await pool.query('ALTER TABLE audit_ledger DISABLE TRIGGER audit_ledger_no_change');
      await pool.query(`UPDATE audit_ledger SET subject = 'task-x' WHERE seq = 2`);
      r = await finflow('audit', 'verify', '--database-url', url);
      expect(r.error).toBe('audit ledger broken at seq 2: its content does not match its hash: the entry was edited');
    } finally {
      await pool.end();
    }
  });

  it('verifies an evidence package and fails a tampered one', async () => {
    const input = soxScenarioInput({ exceptions: 3 });
    const pkg = await generateEvidencePackage(input, { dir: join(work, 'pkg'), signingKey: key });
    let r = await finflow('evidence', 'verify', pkg.dir, '--public-key', pubFile);
    expect(r).toEqual({ lines: ['package SOX_F-R3-GL-15_ACME_2026-10 verified: 3 files match the signed manifest'] });
    writeFileSync(join(pkg.dir, 'report.html'), 'forged');
    r = await finflow('evidence', 'verify', pkg.dir, '--public-key', pubFile);
    expect(r.lines).toEqual([expect.stringMatching(/^FAILED report\.html: content changed/)]);
    expect(r.error).toBe('package SOX_F-R3-GL-15_ACME_2026-10 failed verification (1 problem(s))');
  });

  it('purges nothing unexpired or held, says why, and logs to the ledger when given one', async () => {
    const archiveDir = join(work, 'archive');
    const input = soxScenarioInput({ exceptions: 2 });
    input.close = { ...input.close, company: 'CLI1', closeId: 'close:CLI1:2026-10' };
    const pkg = await generateEvidencePackage(input, { dir: join(work, 'cli1'), signingKey: key });
    // Archived long ago, so it is past its seven years now.
    await archivePackage(
      { store: new FileSystemArchiveStore(archiveDir), clock: () => new Date('2010-01-01T00:00:00Z') },
      { dir: pkg.dir, packageId: pkg.packageId, regulation: 'SOX', actor: 'w' },
    );
    const input2 = soxScenarioInput({ exceptions: 2 });
    input2.close = { ...input2.close, company: 'CLI2', closeId: 'close:CLI2:2026-10' };
    const fresh = await generateEvidencePackage(input2, { dir: join(work, 'cli2'), signingKey: key });
    await archivePackage(
      { store: new FileSystemArchiveStore(archiveDir) },
      { dir: fresh.dir, packageId: fresh.packageId, regulation: 'SOX', actor: 'w' },
    );

    await finflow(
      'archive',
      'hold',
      pkg.packageId,
      '--archive',
      archiveDir,
      '--reason',
      'subpoena 12',
      '--by',
      'counsel',
    );
    let r = await finflow('archive', 'purge', '--archive', archiveDir);
    expect(r.lines).toHaveLength(3);
    expect(r.lines[0]).toMatch(
      new RegExp(`^refused ${pkg.packageId}: under legal hold since .* by counsel: subpoena 12$`),
    );
    expect(r.lines[1]).toMatch(new RegExp(`^refused ${fresh.packageId}: retained until 20\\d\\d-`));
    expect(r.lines[2]).toBe('0 purged, 2 refused');

    await finflow('archive', 'hold', pkg.packageId, '--archive', archiveDir, '--reason', 'released', '--off');
    r = await finflow('archive', 'purge', '--archive', archiveDir, '--database-url', url);
    expect(r.lines).toEqual([
      `purged ${pkg.packageId} (retained until 2017-01-01T00:00:00.000Z)`,
      expect.stringMatching(new RegExp(`^refused ${fresh.packageId}: retained until`)),
      '1 purged, 1 refused, logged to the audit ledger',
    ]);
    expect((await finflow('archive', 'list', '--archive', archiveDir)).lines).toEqual([
      expect.stringMatching(new RegExp(`^${fresh.packageId}  retain until `)),
    ]);
    const pool = new Pool({ connectionString: url, max: 1 });
    try {
      const rows = await pool.query(`SELECT actor, action, subject FROM audit_ledger WHERE action = 'evidence.purged'`);
      expect(rows.rows).toEqual([{ actor: 'records.manager', action: 'evidence.purged', subject: pkg.packageId }]);
    } finally {
      await pool.end();
    }
  });
});
