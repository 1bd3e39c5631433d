// The codec server's development mode, called exactly as the dev server's Web UI calls it: a CORS preflight from the
// UI's origin, then POST /decode with the UI's headers and no token. It decodes as one fixed viewer, masked for that
// viewer's roles, with every decode in the access log, and it refuses to bind anything but loopback.
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { InMemoryAccessLog } from '../../activities/security/access-log';
import { KeyRing, generateMasterKey } from '../../activities/security/key-ring';
import { assertLoopback, buildCodecServer, developmentViewer } from '../../client/codec-server';
import { EncryptionCodec } from '../../platform/codec';
import { seedPolicy } from '../unit/security-fixture';

const IBAN = 'DE89370400440532013000';
const UI = 'http://127.0.0.1:8233';
const codec = new EncryptionCodec(new KeyRing([generateMasterKey('k1')], 'k1'));

const wire = (p: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

function decoded(body: string): unknown[] {
  const parsed = JSON.parse(body) as { payloads: { metadata: Record<string, string>; data: string }[] };
  return parsed.payloads.map((p) =>
    defaultPayloadConverter.fromPayload({
      metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
      data: Buffer.from(p.data, 'base64'),
    }),
  );
}

describe('the codec server in development mode', () => {
  it('answers the Web UI without a token, masked for the named role, and logs the viewer', async () => {
    const log = new InMemoryAccessLog();
    const app = buildCodecServer({
      codec,
      verifyCaller: developmentViewer(['auditor']),
      policy: seedPolicy(),
      accessLog: log,
      corsOrigins: [UI],
    });
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/decode',
      headers: {
        origin: UI,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace',
      },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(UI);
    expect(String(preflight.headers['access-control-allow-headers'])).toMatch(/X-Namespace/);

    const payloads = await codec.encode([
      defaultPayloadConverter.toPayload({ closeId: 'close:ACME:2026-11', accountNumber: IBAN, amount: '10.00' }),
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/decode',
      headers: { origin: UI, 'content-type': 'application/json', 'x-namespace': 'default' },
      payload: { payloads: payloads.map(wire) },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(UI);
    const [value] = decoded(res.body) as { closeId: string; accountNumber: string; amount: string }[];
    expect(value.closeId).toBe('close:ACME:2026-11');
    expect(value.amount).toBe('10.00');
    // The seed policy restricts account numbers: an auditor sees the last four only.
    expect(value.accountNumber).not.toBe(IBAN);
    expect(value.accountNumber.endsWith('3000')).toBe(true);
    expect(res.body).not.toContain(IBAN);
    expect(log.entries).toEqual([
      expect.objectContaining({
        action: 'decode',
        actor: 'development-viewer (development, no identity proven)',
        resource: 'temporal-namespace:default',
        outcome: 'allowed',
      }),
    ]);
  });

  it('still turns away a browser on another origin', async () => {
    const app = buildCodecServer({
      codec,
      verifyCaller: developmentViewer(['auditor']),
      policy: seedPolicy(),
      accessLog: new InMemoryAccessLog(),
      corsOrigins: [UI],
    });
    const res = await app.inject({
      method: 'POST',
      url: '/decode',
      headers: { origin: 'http://evil.example', 'content-type': 'application/json' },
      payload: { payloads: [] },
    });
    expect(res.statusCode).toBe(403);
  });

  it('binds only to loopback and needs a role to mask for', () => {
    expect(() => assertLoopback('127.0.0.1')).not.toThrow();
    expect(() => assertLoopback('::1')).not.toThrow();
    expect(() => assertLoopback('0.0.0.0')).toThrow(/binds only to loopback/);
    expect(() => assertLoopback('10.0.0.5')).toThrow(/not 10\.0\.0\.5/);
    expect(() => developmentViewer([])).toThrow(/at least one role/);
  });
});
