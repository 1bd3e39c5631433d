// The development codec server as the demo tells a person to start it, called over real HTTP exactly as the
// Temporal Web UI calls it: the printed line (`(set -a; . <env file>; npx finflow codec-server --development-role
// auditor ...)`) run by a shell, a CORS preflight from the UI's origin, then POST /decode with the UI's headers
// (Content-Type, X-Namespace, no token). Payloads come back decoded and masked for the auditor, and the decode is
// in the access log of the real PostgreSQL.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { Pool } from 'pg';
import { PgAccessLog } from '../../activities/security/access-log';
import { EncryptionCodec } from '../../platform/codec';
import { ensureKeyFile } from '../../platform/security-setup';
import { writeDevelopmentCodecCommand } from '../../scripts/lib/demo-codec';
import { freshDatabase } from '../helpers/postgres';

const root = resolve(__dirname, '../..');
const IBAN = 'DE89370400440532013000';
const UI_PORT = 8233;
const UI = `http://127.0.0.1:${UI_PORT}`;
let url: string;
let work: string;
let server: ChildProcess | undefined;
let output = '';

beforeAll(async () => {
  url = await freshDatabase('codec_ui');
  work = mkdtempSync(join(tmpdir(), 'finflow-codec-ui-'));
});

afterAll(async () => {
  if (server?.pid) process.kill(-server.pid, 'SIGTERM');
});

const wire = (p: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

/** Starts the printed command line in a shell of its own and waits for the address it listens on. */
async function startPrinted(text: string): Promise<string> {
  server = spawn('bash', ['-c', text], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  server.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const m = /codec server listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
    if (m) return m[1];
    if (server.exitCode !== null) throw new Error(`the codec server exited: ${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the codec server did not start in time: ${output}`);
}

describe("the demo's development codec server, as the Web UI calls it", () => {
  it('starts from the printed line, says loudly it is for development, and decodes for the UI masked for an auditor, logged', async () => {
    const keysDir = join(work, 'keys');
    const codec = new EncryptionCodec(await ensureKeyFile(join(keysDir, 'payload-keys.json')));
    const printed = await writeDevelopmentCodecCommand({
      keysDir,
      databaseUrl: url,
      port: 0,
      uiPort: UI_PORT,
      envFile: join(work, 'codec-server.env'),
    });
    // The database URL holds a password: the file is the user's alone, and the printed line does not hold it.
    expect(statSync(join(work, 'codec-server.env')).mode & 0o777).toBe(0o600);
    expect(printed.text).not.toContain(url);
    expect(printed.text).toMatch(/npx finflow codec-server --development-role auditor --port 0\)$/);

    const base = await startPrinted(printed.text);
    expect(output).toMatch(/DEVELOPMENT ONLY: this codec server decodes for anyone on this machine, without a token/);

    const preflight = await fetch(`${base}/decode`, {
      method: 'OPTIONS',
      headers: {
        Origin: UI,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type,x-namespace',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(UI);
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toMatch(/content-type/);
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toMatch(/x-namespace/);

    const payloads = await codec.encode([
      defaultPayloadConverter.toPayload({
        company: 'ACME',
        iban: IBAN,
        account_number: '4000123456789012',
        amount: '1250.00',
      }),
    ]);
    const res = await fetch(`${base}/decode`, {
      method: 'POST',
      headers: { Origin: UI, 'Content-Type': 'application/json', 'X-Namespace': 'default' },
      body: JSON.stringify({ payloads: payloads.map(wire) }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(UI);
    const body = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    const [value] = body.payloads.map((p) =>
      defaultPayloadConverter.fromPayload({
        metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
        data: Buffer.from(p.data, 'base64'),
      }),
    ) as Record<string, string>[];
    // deploy/config's policy: bank account numbers and IBANs are restricted, an auditor sees the last four.
    expect(value).toEqual({ company: 'ACME', iban: '****3000', account_number: '****9012', amount: '1250.00' });

    // Another origin is turned away; the access log holds the UI's decode, under the development viewer.
    const other = await fetch(`${base}/decode`, {
      method: 'POST',
      headers: { Origin: 'http://evil.example', 'Content-Type': 'application/json', 'X-Namespace': 'default' },
      body: JSON.stringify({ payloads: payloads.map(wire) }),
    });
    expect(other.status).toBe(403);
    const pool = new Pool({ connectionString: url, max: 1 });
    try {
      const entries = await new PgAccessLog(pool).list({ action: 'decode' });
      expect(entries).toEqual([
        expect.objectContaining({
          resource: 'temporal-namespace:default',
          outcome: 'allowed',
          actor: expect.stringMatching(/development/),
        }),
      ]);
    } finally {
      await pool.end();
    }
  });
});
