// bench:close's arithmetic (moved out of bench/close.ts, behaviour unchanged): percentiles of latencies and the
// critical-path work of the generated plan.

/** The plan's tasks as far as the critical path needs them. */
export interface PathTask {
  id: string;
  predecessors: (string | { task: string; type: string })[];
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Longest chain through the graph, each task weighted by its measured work (ms); FF edges do not chain starts. */
export function criticalPathWork(tasks: PathTask[], work: Map<string, number>): { ms: number; path: string[] } {
  const finish = new Map<string, { at: number; via?: string }>();
  for (const t of tasks) {
    // The plan is generated in dependency order: every predecessor comes earlier.
    let start = 0;
    let via: string | undefined;
    for (const p of t.predecessors) {
      const id = typeof p === 'string' ? p : p.task;
      const f = finish.get(id)!.at;
      if (f > start) [start, via] = [f, id];
    }
    finish.set(t.id, { at: start + (work.get(t.id) ?? 0), via });
  }
  let end = tasks[0].id;
  for (const t of tasks) if (finish.get(t.id)!.at > finish.get(end)!.at) end = t.id;
  const path: string[] = [];
  for (let at: string | undefined = end; at; at = finish.get(at)!.via) path.unshift(at);
  return { ms: finish.get(end)!.at, path };
}
