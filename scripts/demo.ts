// `npm run demo`: the seed's monthly close (examples/monthly-close) on the embedded defaults. Starts PostgreSQL
// (embedded), MariaDB (Debian's mariadb-server, private instance) and the Temporal dev server with its Web UI,
// generates the systems' data with planted discrepancies, runs a worker, starts the close from the plan file,
// plays the owners and approvers (approvals signed through the approval gateway), exports the close's history into
// its evidence package and prints the result.
//   npm run demo -- --records 100000   more data (default 20,000 journal lines)
//   npm run demo -- --keep             leave the servers up for the Web UI (Ctrl-C stops)
//   npm run demo -- --period 2026-10   close that period (default: the month that ended last)
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { readClosePlan } from '../client/close-plan-file';
import { lastEndedPeriod, periodLines, periodTiming, withPeriod } from '../examples/monthly-close/demo-period';
import { PLAN_FILE, runMonthlyCloseScenario, whatToOpen } from '../examples/monthly-close/scenario';
import { startDemoCodecServer, writeDevelopmentCodecCommand } from './lib/demo-codec';
import { portOrFree, startDevServer } from './lib/dev-server';
import { createMariaDatabase, startMariaDb } from './lib/mariadb';
import { createDatabase } from './lib/pg-admin';
import { startEmbeddedPostgres } from './lib/postgres';
import { cacheDir } from './lib/servers';

const say = (s: string) => process.stdout.write(`${s}\n`);

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  const records = Number(flag('--records') ?? 20_000);
  if (!Number.isSafeInteger(records) || records < 100)
    throw new Error('--records takes a whole number of at least 100');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  // The period is the day's: deadlines are read against the clock, so the demo closes the month a controller
  // would close today and says up front whether its deadlines are still ahead.
  const now = Date.now();
  const today = new Date(now).toISOString().slice(0, 10);
  const period = flag('--period') ?? lastEndedPeriod(today);
  const plan = withPeriod(readClosePlan(PLAN_FILE), period);
  say(`finflow demo: the monthly close of ACME, period ${period} (${records.toLocaleString('en-US')} journal lines)`);
  for (const l of periodLines(periodTiming(plan, now), today, flag('--period') ? 'flag' : 'default')) say(l);
  const pg = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres({ dataDir: '/tmp/finflow-demo-pg' });
  const adminUrl = pg?.adminUrl;
  const databaseUrl = process.env.DATABASE_URL ?? (await createDatabase(adminUrl!, 'finflow_demo'));
  const glUrl = adminUrl ? await createDatabase(adminUrl, 'acme_general_ledger') : databaseUrl;
  const maria = await startMariaDb({ dataDir: '/tmp/finflow-demo-mariadb' });
  const erpUrl = await createMariaDatabase(maria.adminUrl, 'acme_erp');
  const hide = (u: string) => u.replace(/:[^:@/]*@/, ':***@');
  say(`  PostgreSQL     ${pg ? 'embedded, ' : ''}finflow ${hide(databaseUrl)}, general ledger ${hide(glUrl)}`);
  say(`  MariaDB        ERP ${hide(erpUrl)}`);
  // The Web UI decodes payloads through a codec server of the demo's own (development mode: loopback only).
  const uiPort = await portOrFree(8233);
  const codec = await startDemoCodecServer({
    keysDir: join(cacheDir(), 'demo-keys'),
    databaseUrl,
    port: await portOrFree(8888),
    uiPort,
  });
  const server = await startDevServer({ uiPort, uiCodecEndpoint: codec.url });
  say(`  Temporal       ${server.address} (dev server)`);
  say(`  Web UI         ${server.uiUrl}, payloads decoded by ${codec.url} masked for an auditor`);
  say(`  codec server   ${codec.warning}`);
  // A fresh working directory each run: its archive keeps packages immutable, so an earlier run's package for the
  // same close would (rightly) refuse to be replaced. Keys stay in the cache.
  const dir = '/tmp/finflow-demo';
  rmSync(dir, { recursive: true, force: true });
  say(`  files          ${dir} (statements, reports, evidence, archive); keys in ${join(cacheDir(), 'demo-keys')}`);
  try {
    const outcome = await runMonthlyCloseScenario(
      {
        temporal: { address: server.address, uiUrl: server.uiUrl },
        databaseUrl,
        glUrl,
        erpUrl,
        dir,
        keysDir: join(cacheDir(), 'demo-keys'),
      },
      {
        records,
        period,
        say,
        onStarted: (id) =>
          say(`  Web UI link    ${server.uiUrl}/namespaces/default/workflows/${encodeURIComponent(id)}`),
      },
    );
    say('');
    const byHand = await writeDevelopmentCodecCommand({
      keysDir: join(cacheDir(), 'demo-keys'),
      databaseUrl,
      port: 8889,
      uiPort,
      envFile: join(dir, 'codec-server.env'),
    });
    say(
      `Web UI: ${server.uiUrl} shows the payloads decoded and masked for an auditor by the demo's codec server ` +
        `${codec.url} (${keep ? 'up while --keep runs' : 'rerun with -- --keep to browse it'}); every decode is in ` +
        `the access log (access_log in ${hide(databaseUrl)}).`,
    );
    say(
      `The same development codec server by hand (loopback only, no identity proven; e.g. for ` +
        `\`temporal workflow show --codec-endpoint http://127.0.0.1:${byHand.args.at(-1)}\`): ${byHand.text}`,
    );
    say(
      'Anywhere else: `npx finflow codec-server` with your identity provider (README: FINFLOW_CODEC_JWT_ISSUER, ' +
        'FINFLOW_CODEC_JWT_AUDIENCE, FINFLOW_CODEC_JWKS_URL or _FILE, FINFLOW_SECURITY_POLICY, FINFLOW_KEY_FILE).',
    );
    for (const l of whatToOpen(outcome)) say(l);
    if (outcome.status.state !== 'completed') process.exitCode = 1;
    if (keep) {
      say('--keep: servers stay up; Ctrl-C to stop.');
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
  } finally {
    await server.stop();
    await codec.stop();
    await maria.stop();
    await pg?.stop();
  }
}

main().catch((err) => {
  console.error(`demo failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
