// bench:close's side of its status prober (bench/lib/status-prober.ts), which runs in a process of its own as a CLI
// or the Web UI would (moved out of bench/close.ts, behaviour unchanged).
import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { ProberOrder } from './status-prober';

/** The status client in its own process (bench/lib/status-prober.ts), as a CLI or the Web UI would be. */
export interface Prober {
  ready: Promise<void>;
  ask<T>(order: ProberOrder): Promise<T>;
  stop(): void;
}

export function startProber(env: Record<string, string>): Prober {
  const child = fork(join(__dirname, 'status-prober.ts'), [], {
    execArgv: ['-r', '@swc-node/register'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise<unknown>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the status prober exited (${code})`));
      child.once('exit', onExit);
      child.once('message', (m) => {
        child.off('exit', onExit);
        resolve(m);
      });
    });
  return {
    ready: next().then(() => undefined),
    async ask<T>(order: ProberOrder): Promise<T> {
      const answer = next();
      child.send(order);
      const m = (await answer) as T & { error?: string };
      if (m.error && !('latencies' in m)) throw new Error(`status prober: ${m.error}`);
      return m;
    },
    stop() {
      if (child.connected) child.send({ probe: 'stop' });
      setTimeout(() => child.kill(), 2000).unref();
    },
  };
}
