// A source that cannot be reached is told apart from bad data (issue 20): refused or lost connections and a frozen
// server (silent past its stall timeout) become a retryable SourceUnavailable failure naming the source and the
// error, with the retry window of the source, its system or the environment. The frozen and stopped server is a
// private MariaDB this suite stops, freezes (SIGSTOP) and starts again.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { createMysqlPool } from '../../activities/connectors/mysql';
import { runExtraction } from '../../activities/recon/extract-runner';
import {
  DEFAULT_SOURCE_STALL_MS,
  SourceStalledError,
  retryWindowOf,
  stallMsOf,
  unavailableReason,
  withStallTimeout,
} from '../../activities/recon/source-outage';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import { createMariaDatabase, startMariaDb, type MariaDbHandle } from '../../scripts/lib/mariadb';

describe('telling an unreachable source from bad data', () => {
  it('recognises refused, reset, timed-out and lost connections of both drivers, and nothing else', () => {
    const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
    expect(unavailableReason(withCode('connect ECONNREFUSED 127.0.0.1:3306', 'ECONNREFUSED'))).toBe(
      'connect ECONNREFUSED 127.0.0.1:3306',
    );
    expect(unavailableReason(withCode('read ECONNRESET', 'ECONNRESET'))).toBe('read ECONNRESET');
    expect(unavailableReason(withCode('connect ETIMEDOUT', 'ETIMEDOUT'))).toBe('connect ETIMEDOUT');
    expect(
      unavailableReason(withCode('Connection lost: The server closed the connection.', 'PROTOCOL_CONNECTION_LOST')),
    ).toMatch(/Connection lost/);
    expect(unavailableReason(withCode('terminating connection due to administrator command', '57P01'))).toMatch(
      /administrator/,
    );
    expect(unavailableReason(withCode('the database system is starting up', '57P03'))).toMatch(/starting up/);
    expect(unavailableReason(new Error('Connection terminated unexpectedly'))).toBe(
      'Connection terminated unexpectedly',
    );
    // Node's happy-eyeballs connect: an AggregateError with no message of its own.
    const agg = new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], '');
    expect(unavailableReason(agg)).toBe('connect ECONNREFUSED ::1:5432');
    expect(unavailableReason(withCode('syntax error at or near "SELEC"', '42601'))).toBeUndefined();
    expect(
      unavailableReason(ApplicationFailure.nonRetryable('Connection terminated', 'InvalidSource')),
    ).toBeUndefined();
    expect(unavailableReason('ECONNREFUSED')).toBeUndefined();
  });

  it('takes the retry window of the source, else its system, else the environment, else 15 minutes', () => {
    const systemWindow = (name: string) => (name === 'erp' ? '30m' : undefined);
    expect(retryWindowOf({ system: 'erp', retry_window: '5m' }, systemWindow, {})).toBe(300_000);
    expect(retryWindowOf({ system: 'erp' }, systemWindow, { FINFLOW_SOURCE_RETRY_WINDOW: '1m' })).toBe(1_800_000);
    expect(retryWindowOf({ system: 'gl' }, systemWindow, { FINFLOW_SOURCE_RETRY_WINDOW: '1m' })).toBe(60_000);
    expect(retryWindowOf(undefined, undefined, {})).toBe(900_000);
    expect(() => retryWindowOf({ retry_window: '15 min' }, undefined, {})).toThrow(
      /source retry_window: expected a duration/,
    );
    expect(() => retryWindowOf({ system: 'erp' }, () => '0s', {})).toThrow(/system erp retryWindow/);
    expect(stallMsOf(undefined, {})).toBe(DEFAULT_SOURCE_STALL_MS);
    expect(stallMsOf({ stall_timeout: '3s' }, { FINFLOW_SOURCE_STALL_TIMEOUT: '1m' })).toBe(3_000);
    expect(stallMsOf(undefined, { FINFLOW_SOURCE_STALL_TIMEOUT: '1m' })).toBe(60_000);
    expect(() => stallMsOf(undefined, { FINFLOW_SOURCE_STALL_TIMEOUT: 'soon' })).toThrow(
      /FINFLOW_SOURCE_STALL_TIMEOUT/,
    );
  });

  it('ends a read that sends nothing for the stall timeout, and releases a read its consumer stops early', async () => {
    let returned = 0;
    async function* silentAfter(first: number[] | undefined) {
      try {
        if (first) yield first;
        await new Promise(() => undefined);
      } finally {
        returned++;
      }
    }
    const drain = async (g: AsyncGenerator<number[]>) => {
      for await (const _ of g) void _;
    };
    await expect(drain(withStallTimeout(silentAfter(undefined), 'mysql:erp', 50))).rejects.toThrow(
      new SourceStalledError('mysql:erp', 50, 0).message,
    );
    await expect(drain(withStallTimeout(silentAfter([1, 2, 3]), 'mysql:erp', 50))).rejects.toThrow(
      /no rows from mysql:erp for 50ms after 3 records/,
    );
    async function* twoBatches() {
      try {
        yield [1];
        yield [2];
      } finally {
        returned += 10;
      }
    }
    for await (const b of withStallTimeout(twoBatches(), 'x', 1_000)) if (b[0] === 1) break;
    expect(returned).toBe(10);
  });
});

describe('a MariaDB source that is stopped or frozen', () => {
  let maria: MariaDbHandle;
  let systems: SystemRegistry;
  let workDir: string;

  beforeAll(async () => {
    maria = await startMariaDb();
    const url = await createMariaDatabase(maria.adminUrl, 'erp');
    const pool = createMysqlPool(url);
    await pool.query('CREATE TABLE erp (account_code VARCHAR(20) NOT NULL, amount DECIMAL(18,2) NOT NULL)');
    await pool.query("INSERT INTO erp VALUES ('1','100.00')");
    await pool.end();
    systems = systemsFromEnv({
      FINFLOW_SYSTEMS: JSON.stringify({ erp: { engine: 'mysql', url, retryWindow: '20m' } }),
    });
    workDir = await mkdtemp(join(tmpdir(), 'finflow-outage-'));
  }, 120_000);

  afterAll(async () => {
    maria?.thaw();
    await systems?.close();
    await maria?.stop();
  });

  const input = (stall?: string) => ({
    runId: 'recon:ACME:2026-10:outage/run-1',
    reconId: 'outage',
    side: 'b' as const,
    partitions: 4,
    asOf: '2026-10-31',
    definition: {
      id: 'outage',
      a: {
        source: { connector: 'csv', path: 'unused.csv' },
        classification: 'internal',
        key_fields: ['account_code'],
        value_fields: ['amount'],
        currency: 'USD',
      },
      b: {
        source: { connector: 'mysql', system: 'erp', table: 'erp', ...(stall ? { stall_timeout: stall } : {}) },
        classification: 'internal',
        key_fields: ['account_code'],
        value_fields: ['amount'],
        currency: 'USD',
      },
      rules: [{ id: 'exact', type: 'exact' }],
    },
  });

  async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }

  for (const threads of [false, true])
    it(`reports a stopped server as SourceUnavailable with the error and its system's window (${threads ? 'pooled thread' : 'inline'})`, async () => {
      await maria.down();
      try {
        const f = await failureOf(runExtraction(input(), { systems, workDir, threads }, () => undefined));
        expect(f.type).toBe('SourceUnavailable');
        expect(f.nonRetryable).toBe(false);
        expect(f.message).toMatch(/^source mysql:erp unavailable: .*ECONNREFUSED/);
        expect(f.details?.[0]).toMatchObject({ source: 'mysql:erp', windowMs: 1_200_000 });
      } finally {
        await maria.up();
      }
      const ok = await runExtraction(input(), { systems, workDir, threads }, () => undefined);
      expect(ok.records).toBe(1);
    });

  it('reports a frozen server as SourceUnavailable once it has been silent for the stall timeout', async () => {
    maria.freeze();
    const t0 = Date.now();
    try {
      const f = await failureOf(runExtraction(input('2s'), { systems, workDir, threads: false }, () => undefined));
      expect(f.type).toBe('SourceUnavailable');
      expect(f.message).toBe(
        'source mysql:erp unavailable: no answer from mysql:erp for 2s (not connected, or no first row)',
      );
      expect(Date.now() - t0).toBeLessThan(9_000);
    } finally {
      maria.thaw();
    }
  });
});
