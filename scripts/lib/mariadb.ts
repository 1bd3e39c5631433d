// A private MariaDB (Debian's mariadb-server binaries, never the system service) for the tests, the demo and the
// benchmark: own datadir under /tmp, own port, socket and pid file. MARIADB_URL, when set, points at any other
// server instead (the callers decide; this module only starts one).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { freePort } from './pg-admin';

export interface MariaDbHandle {
  /** URL of the server with no database selected, for a user allowed to create databases. */
  adminUrl: string;
  port: number;
  socket: string;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
  /** Stops the server and keeps its data (an outage, for fault tests); `up` starts it again. */
  down(): Promise<void>;
  /** Starts the server again on the same data, port and socket after `down`; resolves once it answers. */
  up(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections are accepted by the kernel and never answered. `thaw` resumes it. */
  freeze(): void;
  thaw(): void;
}

export interface MariaDbOptions {
  dataDir?: string;
  port?: number;
  /** InnoDB buffer pool; the default suits tests, a benchmark loading millions of rows may want more. */
  bufferPoolMb?: number;
}

const SCRIPT = resolve(__dirname, '..', 'mariadb.sh');

function findBin(...names: string[]): string | undefined {
  for (const name of names) {
    for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
      const p = join(dir, name);
      if (existsSync(p)) return p;
    }
  }
  return undefined;
}

/** Installs mariadb-server through scripts/mariadb.sh when the binaries are absent (idempotent). */
export function ensureMariaDbInstalled(): { mariadbd: string; installDb: string } {
  let mariadbd = findBin('mariadbd', 'mysqld');
  let installDb = findBin('mariadb-install-db', 'mysql_install_db');
  if (!mariadbd || !installDb) {
    execFileSync('bash', [SCRIPT], { stdio: ['ignore', 'ignore', 'inherit'] });
    mariadbd = findBin('mariadbd', 'mysqld');
    installDb = findBin('mariadb-install-db', 'mysql_install_db');
  }
  if (!mariadbd || !installDb) throw new Error('mariadb-server binaries not found after scripts/mariadb.sh');
  return { mariadbd, installDb };
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res();
    else child.once('exit', () => res());
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startMariaDb(opts: MariaDbOptions = {}): Promise<MariaDbHandle> {
  const { mariadbd, installDb } = ensureMariaDbInstalled();
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? `/tmp/finflow-mariadb-${process.pid}-${port}`;
  const socket = join(dataDir, 'mariadbd.sock');
  const errorLog = join(dataDir, 'error.log');
  const asRoot = process.getuid?.() === 0;
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  // mariadbd refuses to run as root; it drops to the mysql user, which must own the datadir (hence /tmp).
  if (asRoot) execFileSync('chown', ['mysql:mysql', dataDir]);
  const userArgs = asRoot ? ['--user=mysql'] : [];
  // A small redo log and buffer pool: the instance is disposable and starts on a loaded 2-core machine.
  const engineArgs = [
    '--innodb-log-file-size=32M',
    `--innodb-buffer-pool-size=${opts.bufferPoolMb ?? 128}M`,
    '--skip-name-resolve',
  ];
  execFileSync(
    installDb,
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      ...userArgs,
      // root with an (empty) password reachable on the socket: mysql2 cannot speak the unix_socket plugin.
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...engineArgs,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const password = 'finflow';
  let child: ChildProcess | undefined;
  // Never leave a server behind if this process dies without calling stop().
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);
  const launch = async (): Promise<ChildProcess> => {
    const child = spawn(
      mariadbd,
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        ...userArgs,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${socket}`,
        `--pid-file=${join(dataDir, 'mariadbd.pid')}`,
        `--log-error=${errorLog}`,
        `--tmpdir=${dataDir}`,
        ...engineArgs,
        // Durability is not what a disposable test server is for; these keep bulk loads fast.
        '--innodb-flush-log-at-trx-commit=0',
        '--innodb-doublewrite=0',
        '--skip-log-bin',
        '--performance-schema=off',
        '--character-set-server=utf8mb4',
        '--collation-server=utf8mb4_unicode_ci',
        '--max-allowed-packet=64M',
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        const log = existsSync(errorLog) ? readFileSync(errorLog, 'utf8').slice(-2000) : '';
        throw new Error(`mariadbd exited (${child.exitCode ?? child.signalCode}) while starting:\n${log}`);
      }
      try {
        const conn = await createConnection({ socketPath: socket, user: 'root', password: '' });
        try {
          for (const host of ['%', 'localhost']) {
            await conn.query(`CREATE USER IF NOT EXISTS 'finflow'@'${host}' IDENTIFIED BY '${password}'`);
            await conn.query(`GRANT ALL PRIVILEGES ON *.* TO 'finflow'@'${host}' WITH GRANT OPTION`);
          }
        } finally {
          await conn.end();
        }
        break;
      } catch (err) {
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new Error(`mariadbd did not answer on ${socket} within 60 s: ${(err as Error).message}`);
        }
        await sleep(100);
      }
    }
    return child;
  };
  try {
    child = await launch();
  } catch (err) {
    process.removeListener('exit', killOnExit);
    throw err;
  }
  const running = (c: ChildProcess | undefined): c is ChildProcess =>
    c !== undefined && c.exitCode === null && c.signalCode === null;

  async function halt(): Promise<void> {
    const c = child;
    if (running(c)) {
      c.kill('SIGCONT');
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 15_000);
      await exited(c);
      clearTimeout(timer);
    }
  }

  return {
    adminUrl: `mysql://finflow:${password}@127.0.0.1:${port}/`,
    port,
    socket,
    async stop() {
      process.removeListener('exit', killOnExit);
      await halt();
      rmSync(dataDir, { recursive: true, force: true });
    },
    down: halt,
    async up() {
      if (running(child)) return;
      child = await launch();
    },
    freeze() {
      child?.kill('SIGSTOP');
    },
    thaw() {
      child?.kill('SIGCONT');
    },
  };
}

/** Creates (or recreates) a database on the server of `adminUrl` and returns its URL. */
export async function createMariaDatabase(adminUrl: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
  const conn = await createConnection({ uri: adminUrl });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await conn.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
