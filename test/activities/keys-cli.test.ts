// `finflow keys user add|revoke|list` and `finflow audit show --close` (issue 18), on a real PostgreSQL ledger.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { Pool } from 'pg';
import { createApprovalActivities } from '../../activities/approval';
import { readSigningKeyFile } from '../../activities/approval/keys';
import { AuditLedger } from '../../activities/audit-ledger';
import { buildProgram } from '../../client/cli';
import { registerComplianceCommands } from '../../client/commands/compliance';
import { instantOption, registerKeyCommands } from '../../client/commands/keys';
import { freshDatabase } from '../helpers/postgres';

let url: string;
let work: string;

beforeAll(async () => {
  url = await freshDatabase('keys_cli');
  work = mkdtempSync(join(tmpdir(), 'finflow-keys-cli-'));
});

async function finflow(...args: string[]): Promise<{ lines: string[]; error?: string }> {
  const lines: string[] = [];
  const program = new Command('finflow').exitOverride();
  const env = {
    FINFLOW_USER_KEYS_FILE: join(work, 'user-keys.json'),
    FINFLOW_ACTOR: 'ivy.admin',
    FINFLOW_AUDIT_DATABASE_URL: url,
  };
  registerComplianceCommands(program, (l) => lines.push(l), env);
  registerKeyCommands(program, (l) => lines.push(l), env);
  try {
    await program.parseAsync(['node', 'finflow', ...args]);
    return { lines };
  } catch (err) {
    return { lines, error: (err as Error).message };
  }
}

describe('finflow keys user', () => {
  it('sits beside the master key commands under finflow keys', () => {
    const keys = buildProgram(() => undefined).commands.find((c) => c.name() === 'keys');
    expect(keys?.commands.map((c) => c.name())).toEqual(expect.arrayContaining(['user', 'init']));
  });

  it('adds a key with its private half at 0600, lists it, revokes it with a reason, each step in the ledger', async () => {
    const added = await finflow('keys', 'user', 'add', 'ann.accountant', '--valid-until', '2030-01-01', '--json');
    expect(added.error).toBeUndefined();
    const r = JSON.parse(added.lines.join('\n')) as {
      record: { kid: string; validUntil: string };
      privateKeyFile: string;
    };
    expect(r.record.validUntil).toBe('2030-01-01T00:00:00.000Z');
    expect(statSync(r.privateKeyFile).mode & 0o777).toBe(0o600);
    expect((await readSigningKeyFile(r.privateKeyFile)).kid).toBe(r.record.kid);
    expect(readFileSync(join(work, 'user-keys.json'), 'utf8')).not.toMatch(/"d":/);

    const listed = await finflow('keys', 'user', 'list');
    expect(listed.lines).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${r.record.kid}  ann.accountant  EdDSA  from .*  valid until 2030-01-01T00:00:00.000Z  \\(added by ivy.admin\\)$`,
        ),
      ),
    ]);

    const revoked = await finflow('keys', 'user', 'revoke', r.record.kid, '--reason', 'laptop stolen');
    expect(revoked.lines[0]).toMatch(
      new RegExp(`^key ${r.record.kid} of ann.accountant revoked at .* by ivy.admin \\(ledger seq 2\\)$`),
    );
    expect((await finflow('keys', 'user', 'list', '--person', 'ann.accountant')).lines[0]).toContain('revoked ');
    expect((await finflow('keys', 'user', 'revoke', r.record.kid, '--reason', 'again')).error).toMatch(
      /already revoked/,
    );
    expect((await finflow('keys', 'user', 'add', 'bob', '--valid-until', 'next week')).error).toMatch(
      /--valid-until must be a date \(2026-12-31\) or an ISO 8601 instant with offset, got "next week"/,
    );

    const pool = new Pool({ connectionString: url, max: 1 });
    try {
      const entries = await (await AuditLedger.open({ pool })).entries();
      expect(entries.map((e) => [e.actor, e.action, e.subject])).toEqual([
        ['ivy.admin', 'user-key.added', `user-key/${r.record.kid}`],
        ['ivy.admin', 'user-key.revoked', `user-key/${r.record.kid}`],
      ]);
      expect(entries[1].payload).toMatchObject({ personId: 'ann.accountant', reason: 'laptop stolen' });
    } finally {
      await pool.end();
    }
  });

  it('refuses a key command without a directory, and reads dates and instants with their offset', async () => {
    const program = new Command('finflow').exitOverride();
    registerKeyCommands(program, () => undefined, {});
    await expect(program.parseAsync(['node', 'finflow', 'keys', 'user', 'list'])).rejects.toThrow(
      'name the user key directory: --directory <file> or FINFLOW_USER_KEYS_FILE',
    );
    expect(instantOption('2026-11-10T09:00:00+01:00', '--valid-from')).toBe('2026-11-10T08:00:00.000Z');
    expect(() => instantOption('2026-11-10T09:00:00', '--valid-from')).toThrow(/ISO 8601 instant with offset/);
  });
});

describe('finflow audit show --close', () => {
  it("prints the close's trail, accepted and refused with why, and audit verify covers the same entries", async () => {
    const pool = new Pool({ connectionString: url, max: 2 });
    try {
      const ledger = await AuditLedger.open({ pool });
      const record = createApprovalActivities({ approval: { ledger } }).recordApprovalInLedger;
      const base = {
        kind: 'decision' as const,
        workflowId: 'close:ACME:2026-10',
        runId: 'r1',
        checkpointId: 'je-approval',
      };
      await record({
        ...base,
        attempt: 1,
        at: '2026-11-03T09:00:00.000Z',
        by: 'sam',
        signature: 'failed',
        accepted: false,
        outcome: 'unsigned',
        message: 'signature not accepted (key_of_another_person): key k1 belongs to ann',
      });
      await record({
        ...base,
        attempt: 2,
        at: '2026-11-03T09:05:00.000Z',
        by: 'sam',
        signature: 'verified',
        accepted: true,
        outcome: 'approved',
        decision: 'approved',
        kid: 'k2',
      });
      // A retried append (same attempt) writes nothing new.
      await record({
        ...base,
        attempt: 2,
        at: '2026-11-03T09:05:00.000Z',
        by: 'sam',
        signature: 'verified',
        accepted: true,
        outcome: 'approved',
        decision: 'approved',
        kid: 'k2',
      });
      await ledger.append({
        actor: 'ann',
        action: 'exception.action',
        subject: 'close:ACME:2026-10/gl_vs_erp',
        payload: { action: 'explain', count: 3 },
      });
      await ledger.append({
        actor: 'finflow',
        action: 'evidence.generated',
        subject: 'pkg-1',
        payload: { closeWorkflowId: 'close:ACME:2026-10' },
      });
      await ledger.append({ actor: 'ann', action: 'exception.action', subject: 'close:ACME:2026-100/gl', payload: {} });

      const shown = await finflow('audit', 'show', '--close', 'close:ACME:2026-10');
      expect(shown.error).toBeUndefined();
      expect(shown.lines.map((l) => l.replace(/^\s*\d+ {2}\S+ {2}/, ''))).toEqual([
        'unverified:sam  approval.decision.refused  approval/je-approval  REFUSED  unsigned: signature not accepted (key_of_another_person): key k1 belongs to ann',
        'sam  approval.decision approved  approval/je-approval  ACCEPTED  approved',
        'ann  exception.action explain  gl_vs_erp  ACCEPTED  3 item(s)',
        'finflow  evidence.generated  pkg-1  ACCEPTED',
        '4 entries about close:ACME:2026-10 (1 refused); finflow audit verify checks the chain',
      ]);
      expect(shown.lines[0]).toMatch(/^\s+3 {2}2026-11-03T09:00:00.000Z {2}/);
      expect((await finflow('audit', 'show', '--close', 'close:OTHER:2026-10')).lines).toEqual([
        'no audit ledger entry about close:OTHER:2026-10',
      ]);
      const verified = await finflow('audit', 'verify');
      expect(verified.lines[0]).toMatch(/^audit ledger intact: 7 entries, head seq 7 /);
    } finally {
      await pool.end();
    }
  });
});
