// One read of a run's exceptions for the three exceptions reports (activities/reports/tee.ts): every branch sees
// every batch in order, a fast branch waits for the slowest instead of buffering the run, a source failure reaches
// every branch, and a branch that stops early holds nobody back.
import { teeBatches } from '../../activities/reports/tee';

async function* numbers(n: number, log: number[] = [], failAt?: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) {
    if (i === failAt) throw new Error(`source failed at ${i}`);
    log.push(i);
    yield i;
  }
}

const drain = async (it: AsyncIterable<number>, each?: (v: number) => Promise<void>) => {
  const out: number[] = [];
  for await (const v of it) {
    out.push(v);
    await each?.(v);
  }
  return out;
};

describe('a tee of the exceptions batches', () => {
  it('gives every branch every batch in order, reading the source once', async () => {
    const pulled: number[] = [];
    const [a, b, c] = teeBatches(numbers(50, pulled), 3);
    const got = await Promise.all([drain(a), drain(b, () => new Promise((r) => setTimeout(r, 1))), drain(c)]);
    const all = Array.from({ length: 50 }, (_, i) => i);
    expect(got).toEqual([all, all, all]);
    expect(pulled).toEqual(all);
  });

  it('keeps a fast branch at most a few batches ahead of the slowest', async () => {
    const pulled: number[] = [];
    const [fast, slow] = teeBatches(numbers(40, pulled), 2, 3);
    let worst = 0;
    let slowAt = -1;
    await Promise.all([
      drain(fast, async (v) => {
        worst = Math.max(worst, v - slowAt);
      }),
      drain(slow, async (v) => {
        slowAt = v;
        await new Promise((r) => setTimeout(r, 2));
      }),
    ]);
    expect(worst).toBeLessThanOrEqual(4);
    expect(pulled).toHaveLength(40);
  });

  it('passes a failure of the source to every branch', async () => {
    const [a, b] = teeBatches(numbers(10, [], 5), 2);
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: Error) => e.message,
      );
    expect(await Promise.all([outcome(drain(a)), outcome(drain(b))])).toEqual([
      'source failed at 5',
      'source failed at 5',
    ]);
  });

  it('lets the other branches finish when one stops early', async () => {
    const [a, b] = teeBatches(numbers(30), 2, 2);
    const first3 = async () => {
      const out: number[] = [];
      for await (const v of a) {
        out.push(v);
        if (out.length === 3) break;
      }
      return out;
    };
    const [some, all] = await Promise.all([first3(), drain(b)]);
    expect(some).toEqual([0, 1, 2]);
    expect(all).toHaveLength(30);
  });
});
