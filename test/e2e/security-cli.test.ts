// `finflow data shred`, `finflow report open` and `finflow keys` through the real command line program, on a real PostgreSQL and real
// key files.
import { createWriteStream, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Command } from 'commander';
import ExcelJS from 'exceljs';
import { Pool } from 'pg';
import { PgAccessLog } from '../../activities/security/access-log';
import { DataShreddedError, EnvelopeEncryption, PgDataKeyStore } from '../../activities/security/envelope';
import { sealingStream } from '../../activities/security/file-seal';
import { generateMasterKey, KeyFileProvider, KeyRing, type KeyProvider } from '../../activities/security/key-ring';
import { buildProgram } from '../../client/cli';
import { registerSecurityCommands } from '../../client/commands/security';
import { freshDatabase } from '../helpers/postgres';
import { seedPolicyInput as seedApprovalPolicyInput } from '../unit/approval-fixtures';
import { seedPolicyInput } from '../unit/security-fixture';

const IBAN = 'DE89370400440532013000';
let url: string;
let pool: Pool;
let work: string;

beforeAll(async () => {
  url = await freshDatabase('security_cli');
  pool = new Pool({ connectionString: url, max: 2 });
  work = mkdtempSync(join(tmpdir(), 'finflow-security-cli-'));
});

afterAll(async () => {
  await pool?.end();
});

async function finflow(
  args: string[],
  env: NodeJS.ProcessEnv = { FINFLOW_ACTOR: 'privacy.officer' },
): Promise<{ lines: string[]; error?: string }> {
  const lines: string[] = [];
  const program = new Command('finflow').exitOverride().configureOutput({ writeErr: () => undefined });
  registerSecurityCommands(program, (l) => lines.push(l), env);
  try {
    await program.parseAsync(['node', 'finflow', ...args]);
    return { lines };
  } catch (err) {
    return { lines, error: (err as Error).message };
  }
}

async function envelope(keys: KeyProvider): Promise<{ env: EnvelopeEncryption; log: PgAccessLog }> {
  const store = new PgDataKeyStore(pool);
  const log = new PgAccessLog(pool);
  await store.ensureSchema();
  await log.ensureSchema();
  return { env: new EnvelopeEncryption({ keys, store, accessLog: log }), log };
}

describe('finflow data shred', () => {
  it('destroys the data key so the extract can no longer be decrypted, says so, and writes who and why to the access log', async () => {
    const { env, log } = await envelope(new KeyRing([generateMasterKey('k1')], 'k1'));
    const dataset = 'close:ACME:2026-10/extracts';
    const blob = await env.encrypt(dataset, `account_number\n${IBAN}\n`, 'bank.csv');
    expect((await env.decrypt(dataset, blob, 'bank.csv')).toString()).toContain(IBAN);

    const shred = await finflow([
      'data',
      'shred',
      dataset,
      '--reason',
      'GDPR erasure request 4711',
      '--database-url',
      url,
    ]);
    expect(shred.error).toBeUndefined();
    expect(shred.lines).toEqual([
      expect.stringMatching(
        new RegExp(`^shredded dataset ${dataset} at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z: its data key is destroyed`),
      ),
      'old row versions of data_keys vacuumed',
      `access log: shred of ${dataset} by privacy.officer, purpose "GDPR erasure request 4711"`,
      // Evidence packages record a shredding only when the archive is named (test/activities/evidence-shredding).
      'no evidence archive named (--archive, FINFLOW_ARCHIVE_DIR): no package records this shredding',
    ]);
    await expect(env.decrypt(dataset, blob, 'bank.csv')).rejects.toBeInstanceOf(DataShreddedError);
    const { rows } = await pool.query('SELECT kid, wrapped_key FROM data_keys WHERE dataset = $1', [dataset]);
    expect(rows).toEqual([{ kid: null, wrapped_key: null }]);
    expect(await log.list({ resource: dataset, action: 'shred' })).toEqual([
      expect.objectContaining({
        actor: 'privacy.officer',
        purpose: 'GDPR erasure request 4711',
        outcome: 'allowed',
        fields: [],
      }),
    ]);

    const again = await finflow(['data', 'shred', dataset, '--reason', 'duplicate request', '--database-url', url]);
    expect(again.lines[0]).toMatch(new RegExp(`^dataset ${dataset} was already shredded at .*: nothing changed$`));
    expect(await log.list({ resource: dataset, action: 'shred' })).toHaveLength(2);
  });

  it('leaves a tombstone for a dataset that never had a key, so nothing can be encrypted under that name later', async () => {
    const { env } = await envelope(new KeyRing([generateMasterKey('k1')], 'k1'));
    const r = await finflow(['data', 'shred', 'vendor-master-2019', '--reason', 'retention ended', '--json'], {
      DATABASE_URL: url,
      USER: 'ops',
    });
    expect(JSON.parse(r.lines.join('\n'))).toMatchObject({
      dataset: 'vendor-master-2019',
      hadKey: false,
      firstShred: true,
      actor: 'ops',
      reason: 'retention ended',
    });
    await expect(env.encrypt('vendor-master-2019', 'anything')).rejects.toBeInstanceOf(DataShreddedError);
  });

  it('refuses to shred without a reason or without a database, and shreds nothing then', async () => {
    const { env } = await envelope(new KeyRing([generateMasterKey('k1')], 'k1'));
    const blob = await env.encrypt('kept', 'still here');
    expect((await finflow(['data', 'shred', 'kept', '--database-url', url])).error).toMatch(/--reason/);
    expect((await finflow(['data', 'shred', 'kept', '--reason', '   ', '--database-url', url])).error).toMatch(
      /--reason must say why/,
    );
    expect((await finflow(['data', 'shred', 'kept', '--reason', 'x'], {})).error).toMatch(/DATABASE_URL/);
    expect((await env.decrypt('kept', blob)).toString()).toBe('still here');
  });

  it('is wired into the finflow program', () => {
    const program = buildProgram(() => undefined);
    expect(program.commands.map((c) => c.name())).toEqual(
      expect.arrayContaining(['data', 'report', 'keys', 'codec-server']),
    );
  });
});

describe('finflow report open', () => {
  /** A report sealed as the reconciliation activity seals it: an xlsx through exceljs into the sealing stream. */
  async function sealedReport(keyFile: string, dataset: string): Promise<string> {
    const { env } = await envelope(new KeyFileProvider(keyFile, 0));
    const cipher = await env.open(dataset, { create: true });
    const path = join(work, `${dataset.replace(/[^A-Za-z0-9-]/g, '_')}_exceptions_2026-10-31.xlsx.sealed`);
    try {
      const sealing = sealingStream(cipher, basename(path, '.sealed'));
      const written = pipeline(sealing, createWriteStream(path));
      const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: sealing });
      const ws = wb.addWorksheet('Exceptions');
      ws.addRow(['Item', 'Key', 'Category']).commit();
      ws.addRow(['item-1', IBAN, 'missing_in_b']).commit();
      ws.commit();
      await wb.commit();
      await written;
    } finally {
      cipher.dispose();
    }
    return path;
  }

  it('writes the clear workbook beside the sealed one with the worker keys, and logs who read it and why', async () => {
    const keyFile = join(work, 'keys-report.json');
    await finflow(['keys', 'init', keyFile, '--key-id', 'k1']);
    const dataset = 'recon:ACME:2026-10:gl-vs-erp';
    const path = await sealedReport(keyFile, dataset);
    expect(readFileSync(path).includes(IBAN)).toBe(false);
    const r = await finflow(['report', 'open', path, '--purpose', 'Q4 audit sample 12'], {
      FINFLOW_KEY_FILE: keyFile,
      DATABASE_URL: url,
      FINFLOW_ACTOR: 'ext.auditor',
    });
    expect(r.error).toBeUndefined();
    const clearPath = path.slice(0, -'.sealed'.length);
    expect(r.lines).toEqual([
      expect.stringMatching(
        new RegExp(`^opened ${basename(clearPath)} \\(dataset ${dataset}\\): \\d+ bytes written to ${clearPath}$`),
      ),
      `access log: read of ${dataset} report ${basename(clearPath)} by ext.auditor, purpose "Q4 audit sample 12"`,
    ]);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(clearPath);
    expect(wb.getWorksheet('Exceptions')!.getRow(2).values).toEqual([undefined, 'item-1', IBAN, 'missing_in_b']);
    const { log } = await envelope(new KeyFileProvider(keyFile, 0));
    expect(await log.list({ resource: dataset, action: 'read' })).toEqual([
      expect.objectContaining({
        actor: 'ext.auditor',
        purpose: 'Q4 audit sample 12',
        outcome: 'allowed',
        fields: [`report:${basename(clearPath)}`],
      }),
    ]);
  });

  it('writes the view a role may see with --role: account numbers masked per the policy, the clear workbook never on disk', async () => {
    const keyFile = join(work, 'keys-report-view.json');
    await finflow(['keys', 'init', keyFile, '--key-id', 'k1']);
    const dataset = 'recon:ACME:2026-10:bank-mt940';
    const path = await sealedReport(keyFile, dataset);
    const policyFile = join(work, 'policy-view.json');
    writeFileSync(policyFile, JSON.stringify(seedPolicyInput));
    const clearPath = path.slice(0, -'.sealed'.length);
    const viewPath = clearPath.replace(/\.xlsx$/, '.view-auditor.xlsx');
    const r = await finflow(['report', 'open', path, '--role', 'auditor', '--purpose', 'PBC list item 4'], {
      FINFLOW_KEY_FILE: keyFile,
      DATABASE_URL: url,
      FINFLOW_ACTOR: 'carla.controller',
      FINFLOW_SECURITY_POLICY: policyFile,
    });
    expect(r.error).toBeUndefined();
    expect(r.lines[0]).toMatch(
      new RegExp(`^view of ${basename(clearPath)} for auditor .*: 1 row, \\d+ bytes written to ${viewPath}$`),
    );
    expect(existsSync(clearPath)).toBe(false);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(viewPath);
    const row = wb.getWorksheet('Exceptions')!.getRow(2).values as unknown[];
    expect(row[1]).toBe('item-1');
    expect(String(row[2])).not.toContain(IBAN);
    expect(String(row[2])).toMatch(new RegExp(`${IBAN.slice(-4)}$`));
    const { log } = await envelope(new KeyFileProvider(keyFile, 0));
    expect(await log.list({ resource: dataset, action: 'read' })).toEqual([
      expect.objectContaining({
        actor: 'carla.controller',
        purpose: 'PBC list item 4',
        outcome: 'allowed',
        fields: [`report:${basename(clearPath)}`, 'view:auditor'],
      }),
    ]);
    // A director (cleared for restricted data) gets the account number in clear.
    const director = await finflow(
      ['report', 'open', path, '--role', 'director', '--out', join(work, 'director.xlsx'), '--purpose', 'review'],
      { FINFLOW_KEY_FILE: keyFile, DATABASE_URL: url, FINFLOW_SECURITY_POLICY: policyFile },
    );
    expect(director.error).toBeUndefined();
    await wb.xlsx.readFile(join(work, 'director.xlsx'));
    expect(wb.getWorksheet('Exceptions')!.getRow(2).values).toEqual([undefined, 'item-1', IBAN, 'missing_in_b']);
    expect((await finflow(['report', 'open', path, '--role', 'a b', '--purpose', 'x'], {})).error).toMatch(
      /--role must name roles/,
    );
  });

  it("proves who reads with their own key and masks for their roles in the user directory (issue 18): ann's key as dan, a role ann does not hold and no key are refused", async () => {
    const keyFile = join(work, 'keys-report-people.json');
    await finflow(['keys', 'init', keyFile, '--key-id', 'k1']);
    const dataset = 'recon:ACME:2026-10:people';
    const path = await sealedReport(keyFile, dataset);
    const policyFile = join(work, 'policy-people.json');
    writeFileSync(policyFile, JSON.stringify(seedPolicyInput));
    // The user directory (roles) and the user key directory (people's own keys), as the gateway and workers read them.
    const approvalPolicy = seedApprovalPolicyInput();
    approvalPolicy.users = approvalPolicy.users.map((u) => (u.userId === 'ann' ? { ...u, roles: ['auditor'] } : u));
    if (!approvalPolicy.roles.some((r) => r.name === 'auditor'))
      approvalPolicy.roles.push({ name: 'auditor' } as never);
    const directoryFile = join(work, 'approval-policy-people.json');
    writeFileSync(directoryFile, JSON.stringify(approvalPolicy));
    const userKeys = join(work, 'people', 'user-keys.json');
    for (const person of ['ann', 'dan'])
      await buildProgram(() => undefined).parseAsync([
        'node',
        'finflow',
        'keys',
        'user',
        'add',
        person,
        '--directory',
        userKeys,
        '--out',
        join(work, `${person}.jwk.json`),
        '--by',
        'ivy.admin',
      ]);
    await new Promise((r) => setTimeout(r, 1100)); // a key is valid from the second it was made
    const env = {
      FINFLOW_KEY_FILE: keyFile,
      DATABASE_URL: url,
      FINFLOW_SECURITY_POLICY: policyFile,
      FINFLOW_USER_KEYS_FILE: userKeys,
      FINFLOW_APPROVAL_POLICY_FILE: directoryFile,
    };
    const open = (actor: string, keyOf: string | undefined, ...extra: string[]) =>
      finflow(
        [
          'report',
          'open',
          path,
          '--actor',
          actor,
          ...(keyOf ? ['--signing-key', join(work, `${keyOf}.jwk.json`)] : []),
          '--out',
          join(work, `people-${actor}-${keyOf ?? 'none'}.xlsx`),
          '--purpose',
          'PBC list item 9',
          ...extra,
        ],
        env,
      );
    const wb = new ExcelJS.Workbook();
    // ann, an auditor in the directory, sees the account number masked, with no --role: her roles decide.
    expect((await open('ann', 'ann')).error).toBeUndefined();
    await wb.xlsx.readFile(join(work, 'people-ann-ann.xlsx'));
    const row = wb.getWorksheet('Exceptions')!.getRow(2).values as unknown[];
    expect(String(row[2])).not.toContain(IBAN);
    expect(String(row[2])).toMatch(new RegExp(`${IBAN.slice(-4)}$`));
    // dan, a director, sees it in clear.
    expect((await open('dan', 'dan')).error).toBeUndefined();
    await wb.xlsx.readFile(join(work, 'people-dan-dan.xlsx'));
    expect(wb.getWorksheet('Exceptions')!.getRow(2).values).toEqual([undefined, 'item-1', IBAN, 'missing_in_b']);
    // ann's key naming dan, ann asking for the director's view, and nobody's key: refused, nothing written.
    expect((await open('dan', 'ann')).error).toMatch(/dan is not proven: .*key_of_another_person/);
    expect((await open('ann', 'ann', '--role', 'director')).error).toMatch(/ann does not hold director/);
    expect((await open('ann', undefined)).error).toMatch(/name your own key with --signing-key/);
    expect(existsSync(join(work, 'people-dan-ann.xlsx'))).toBe(false);
    expect(existsSync(join(work, 'people-ann-none.xlsx'))).toBe(false);
    const { log } = await envelope(new KeyFileProvider(keyFile, 0));
    expect(
      (await log.list({ resource: dataset, action: 'read' })).map((e) => [e.actor, e.outcome, e.fields[1]]),
    ).toEqual([
      ['ann', 'allowed', 'view:auditor'],
      ['dan', 'allowed', 'view:director'],
    ]);
  });

  it('refuses without keys, after the dataset was shredded, and without a purpose, writing no clear file', async () => {
    const keyFile = join(work, 'keys-report-refused.json');
    await finflow(['keys', 'init', keyFile, '--key-id', 'k1']);
    const dataset = 'recon:ACME:2026-10:bank-camt053';
    const path = await sealedReport(keyFile, dataset);
    const out = join(work, 'refused.xlsx');
    const open = (env: NodeJS.ProcessEnv, purpose = 'review') =>
      finflow(['report', 'open', path, '--out', out, '--purpose', purpose], { DATABASE_URL: url, ...env });

    expect((await open({ FINFLOW_KEY_FILE: keyFile }, '  ')).error).toMatch(/--purpose must say why/);
    expect((await open({})).error).toMatch(/no master keys configured/);
    const shred = await finflow(['data', 'shred', dataset, '--reason', 'retention ended', '--database-url', url]);
    expect(shred.error).toBeUndefined();
    expect((await open({ FINFLOW_KEY_FILE: keyFile })).error).toMatch(/crypto-shredded/);
    expect(existsSync(out)).toBe(false);
    const { log } = await envelope(new KeyFileProvider(keyFile, 0));
    expect((await log.list({ resource: dataset, action: 'read' })).map((e) => e.outcome)).toEqual(['denied', 'denied']);

    const clear = join(work, 'clear.xlsx');
    writeFileSync(clear, 'not sealed');
    expect((await finflow(['report', 'open', clear, '--purpose', 'x'], { DATABASE_URL: url })).error).toMatch(
      /is not a sealed report/,
    );
  });
});

describe('finflow keys', () => {
  it('creates a 0600 key file, rotates in two steps, lists ids and never prints key material', async () => {
    const file = join(work, 'keys-two-step.json');
    const lines: string[] = [];
    const run = async (...args: string[]) => {
      const r = await finflow(args, { FINFLOW_KEY_FILE: file });
      expect(r.error).toBeUndefined();
      lines.push(...r.lines);
      return r.lines;
    };
    expect(await run('keys', 'init', file, '--key-id', 'k1')).toEqual([
      `created ${file} (mode 0600) with current key k1`,
    ]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect((await finflow(['keys', 'init', file])).error).toMatch(/exists: not overwritten/);

    expect((await run('keys', 'rotate', '--key-id', 'k2', '--stage'))[0]).toBe(
      `added key k2 to ${file}: current key k1; kept for decryption: k2`,
    );
    expect((await run('keys', 'promote', 'k2'))[0]).toBe(`${file}: current key k2; kept for decryption: k1`);
    const rotated = (await run('keys', 'rotate'))[0];
    expect(rotated).toMatch(
      /^added key k-\d{8}T\d{6}Z to .*: current key k-\d{8}T\d{6}Z; kept for decryption: k1, k2$/,
    );
    expect(await run('keys', 'list')).toEqual([expect.stringMatching(/^current key k-\d{8}T\d{6}Z; kept for/)]);

    const content = JSON.parse(readFileSync(file, 'utf8')) as { keys: Record<string, string> };
    expect(Object.keys(content.keys)).toHaveLength(3);
    for (const material of Object.values(content.keys)) expect(lines.join('\n')).not.toContain(material);
    expect((await finflow(['keys', 'promote', 'k9'], { FINFLOW_KEY_FILE: file })).error).toMatch(/k9/);
    expect((await finflow(['keys', 'list'], {})).error).toMatch(/--key-file or FINFLOW_KEY_FILE/);
  });

  it('re-wraps data keys from the old master key, after which the old key can be retired and the data still reads', async () => {
    const file = join(work, 'keys-rewrap.json');
    await finflow(['keys', 'init', file, '--key-id', 'old']);
    const { env } = await envelope(new KeyFileProvider(file, 0));
    const blob = await env.encrypt('recon:ACME:2026-10/results', IBAN, 'recon_results.account_number');
    await finflow(['keys', 'rotate', '--key-file', file, '--key-id', 'new']);

    expect((await finflow(['keys', 'rewrap', 'new', '--key-file', file, '--database-url', url])).error).toMatch(
      /new is the current key/,
    );
    const r = await finflow(['keys', 'rewrap', 'old', '--key-file', file, '--database-url', url]);
    expect(r.lines).toEqual(['re-wrapped 1 data key(s) from old to new']);

    const onlyNew = new KeyRing([await new KeyFileProvider(file).getKey('new')], 'new');
    const { env: retired } = await envelope(onlyNew);
    const clear = await retired.decrypt('recon:ACME:2026-10/results', blob, 'recon_results.account_number');
    expect(clear.toString()).toBe(IBAN);
  });
});
