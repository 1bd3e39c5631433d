// bench:close's lines about the close's status read model (issue 16): the read-model path's latencies beside the
// query's, how fresh its rows were when read, and what writing it cost the history (one local-activity marker per
// write).
import type { temporal } from '@temporalio/proto';
import { percentile } from './close-measure';
import type { ReadModelProbe } from './status-prober';

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN };
};

/** Local-activity markers of the read model's writes in a history. */
export function readModelWrites(history: temporal.api.history.v1.IHistory): number {
  return (history.events ?? []).filter((e) => {
    const m = e.markerRecordedEventAttributes;
    const data = m?.markerName === 'core_local_activity' ? m.details?.data?.payloads?.[0]?.data : undefined;
    return data ? Buffer.from(data).toString('utf8').includes('publishCloseStatus') : false;
  }).length;
}

export function readModelLines(
  working: ReadModelProbe,
  idle: ReadModelProbe | undefined,
  history: temporal.api.history.v1.IHistory,
  targetMs: number,
): string[] {
  if (!working.latencies.length && !working.fallbacks)
    return ['   status read model                  not probed (no DATABASE_URL for the prober)'];
  const w = stats(working.latencies);
  const age = stats(working.ages);
  const writes = readModelWrites(history);
  const events = history.events?.length ?? 0;
  const lines = [
    `   status read model while it works   n=${w.n}, p50 ${w.p50.toFixed(1)} ms, p99 ${w.p99.toFixed(1)} ms, max ${w.max.toFixed(1)} ms, ` +
      `fell back ${working.fallbacks}${working.firstFallback ? ` (first: ${working.firstFallback})` : ''}; row age when read p50 ${age.p50} ms, p99 ${age.p99} ms`,
  ];
  if (idle?.latencies.length) {
    const i = stats(idle.latencies);
    lines.push(
      `   status read model, idle close       n=${i.n}, p50 ${i.p50.toFixed(1)} ms, p99 ${i.p99.toFixed(1)} ms`,
    );
  }
  lines.push(
    `   read model writes                  ${writes} (last version ${idle?.lastVersion || working.lastVersion}), one local-activity marker each: ${writes} of ${events} history events`,
    `   target status p99 < ${targetMs} ms through the read model: while it works ${w.p99 < targetMs ? 'met' : 'NOT met'}`,
  );
  return lines;
}
