// `finflow data shred` and `finflow keys` through the real command line program, on a real PostgreSQL and real
// key files.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { Pool } from 'pg';
import { PgAccessLog } from '../../activities/security/access-log';
import { DataShreddedError, EnvelopeEncryption, PgDataKeyStore } from '../../activities/security/envelope';
import { generateMasterKey, KeyFileProvider, KeyRing, type KeyProvider } from '../../activities/security/key-ring';
import { buildProgram } from '../../client/cli';
import { registerSecurityCommands } from '../../client/commands/security';
import { freshDatabase } from '../helpers/postgres';

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
    expect(program.commands.map((c) => c.name())).toEqual(expect.arrayContaining(['data', 'keys', 'codec-server']));
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
