// One read of a run's exceptions for several reports: the store streams the rows once and each writer (xlsx, csv,
// json) takes the same batches at its own pace. Memory stays bounded: a writer more than MAX_AHEAD batches ahead of
// the slowest waits for it, and a batch is dropped once every writer has taken it.
import type { ResultStore } from '../result-store';

const MAX_AHEAD = 4;

/** `n` iterables over the one `source`, each yielding every item in order; a failure of the source reaches all. */
export function teeBatches<T>(source: AsyncIterable<T>, n: number, maxAhead = MAX_AHEAD): AsyncGenerator<T>[] {
  const it = source[Symbol.asyncIterator]();
  const buffer: T[] = [];
  let base = 0;
  const pos = new Array<number>(n).fill(0);
  let done = false;
  let failure: { err: unknown } | undefined;
  let pulling: Promise<void> | undefined;
  let waiters: (() => void)[] = [];

  const trim = () => {
    const min = Math.min(...pos);
    while (base < min && buffer.length) {
      buffer.shift();
      base++;
    }
    const w = waiters;
    waiters = [];
    for (const wake of w) wake();
  };
  const pull = (): Promise<void> =>
    (pulling ??= (async () => {
      try {
        const r = await it.next();
        if (r.done) done = true;
        else buffer.push(r.value);
      } catch (err) {
        failure = { err };
        done = true;
      } finally {
        pulling = undefined;
      }
    })());

  async function* branch(i: number): AsyncGenerator<T> {
    try {
      for (;;) {
        while (pos[i] - base >= buffer.length) {
          if (done) {
            if (failure) throw failure.err;
            return;
          }
          // Too far ahead of the slowest branch: wait until it takes a batch (and this one can be dropped).
          if (buffer.length >= maxAhead) await new Promise<void>((wake) => waiters.push(wake));
          else await pull();
        }
        const v = buffer[pos[i] - base];
        pos[i]++;
        trim();
        yield v;
      }
    } finally {
      // A branch that stops (done, or its writer failed) holds nobody back.
      pos[i] = Infinity;
      trim();
      if (pos.every((p) => p === Infinity)) void it.return?.();
    }
  }
  return Array.from({ length: n }, (_, i) => branch(i));
}

/** `n` views of the store whose streamExceptions(runId) share one read of that run's exceptions. */
export function teeExceptionStore(
  store: ResultStore,
  runId: string,
  n: number,
  opts: { batchSize?: number } = {},
): ResultStore[] {
  const branches = teeBatches(store.streamExceptions(runId, opts), n);
  return branches.map((branch) => {
    let taken = false;
    const view = Object.create(store) as ResultStore;
    view.streamExceptions = (id: string) => {
      if (id !== runId || taken) throw new Error(`this view streams run ${runId} once`);
      taken = true;
      return branch;
    };
    return view;
  });
}
