// Geometry of the close report's pictures: the Gantt chart's bars, deadlines and "as of" line, and the layered
// dependency graph (layers by longest path, fewer crossings after the barycentre sweeps).
import {
  countCrossings,
  ganttLayout,
  graphLayout,
  longestPathLayers,
  orderLayers,
  wrapText,
  type ReportStatus,
} from '../../activities/close-report';
import { GANTT, tickLabel, tickStep } from '../../activities/close-report/gantt-layout';
import { plannedWindows } from '../../activities/close-report/model';

const H = 3_600_000;

function plan(): ReportStatus {
  return {
    closeId: 'close:ACME:2026-11',
    company: 'ACME',
    period: '2026-11',
    state: 'running',
    percentDone: 50,
    criticalPath: ['prelim', 'rec', 'review'],
    tasks: [
      {
        id: 'prelim',
        kind: 'journal_entry',
        state: 'done',
        startedAt: '2026-12-01T08:00:00.000Z',
        finishedAt: '2026-12-01T12:00:00.000Z',
        deadline: '2026-12-01T10:00:00.000Z',
        late: true,
      },
      {
        id: 'rec',
        name: 'Bank rec',
        kind: 'reconciliation',
        state: 'running',
        predecessors: ['prelim'],
        startedAt: '2026-12-01T12:00:00.000Z',
        expectedDuration: '2h',
      },
      {
        id: 'review',
        kind: 'approval',
        state: 'pending',
        predecessors: ['rec'],
        expectedDuration: '4h',
        deadline: '2026-12-02T18:00:00.000Z',
      },
      { id: 'memo', kind: 'documentation', state: 'pending', predecessors: ['prelim'] },
    ],
  };
}

describe('the Gantt layout', () => {
  it('puts every task in one row under the section of its kind, in the order kinds first appear', () => {
    const g = ganttLayout(plan());
    expect(g.rows.map((r) => r.taskId)).toEqual(['prelim', 'rec', 'review', 'memo']);
    expect(g.sections.map((s) => s.title)).toEqual([
      'Journal entries',
      'Reconciliations',
      'Approvals',
      'Documentation',
    ]);
    for (const [i, s] of g.sections.entries()) {
      const row = g.rows[i];
      expect(row.y).toBeGreaterThanOrEqual(s.y);
      expect(row.y + GANTT.rowHeight).toBeLessThanOrEqual(s.y + s.height);
    }
    const ys = g.rows.map((r) => r.y);
    expect([...ys].sort((a, b) => a - b)).toEqual(ys);
  });

  it('places bars on one time scale: what ran where it ran, what is planned after its predecessor', () => {
    const g = ganttLayout(plan());
    const [prelim, rec, review] = g.rows;
    const px = (g.plotRight - g.plotLeft) / (g.t1 - g.t0);
    expect(prelim.basis).toBe('actual');
    expect(prelim.bar.width).toBeCloseTo(4 * H * px, 6);
    expect(rec.bar.x).toBeCloseTo(prelim.bar.x + prelim.bar.width, 6);
    expect(rec.basis).toBe('running');
    expect(review.basis).toBe('planned');
    // The review waits for the running rec's projected end (started 12:00, 2h expected) and lasts 4h.
    expect(review.start).toBe(Date.parse('2026-12-01T14:00:00.000Z'));
    expect(review.bar.width).toBeCloseTo(4 * H * px, 6);
    expect(review.deadlineX).toBeCloseTo(g.plotLeft + (Date.parse('2026-12-02T18:00:00.000Z') - g.t0) * px, 6);
    // Every bar and deadline is inside the plot.
    for (const r of g.rows) {
      expect(r.bar.x).toBeGreaterThanOrEqual(g.plotLeft);
      expect(r.bar.x + r.bar.width).toBeLessThanOrEqual(g.plotRight);
    }
  });

  it('marks late and critical tasks and draws the "as of" line at the latest thing that happened', () => {
    const g = ganttLayout(plan());
    expect(g.rows.filter((r) => r.late).map((r) => r.taskId)).toEqual(['prelim']);
    expect(g.rows.filter((r) => r.critical).map((r) => r.taskId)).toEqual(['prelim', 'rec', 'review']);
    expect(g.now.at).toBe(Date.parse('2026-12-01T12:00:00.000Z'));
    expect(g.now.x).toBeCloseTo(g.rows[1].bar.x, 6);
  });

  it("draws the plan under each task that ran or runs: ending at its deadline, else after its predecessors' plans, for its expected duration", () => {
    const g = ganttLayout(plan());
    const [prelim, rec, review, memo] = g.rows;
    const px = (g.plotRight - g.plotLeft) / (g.t1 - g.t0);
    const at = (iso: string) => g.plotLeft + (Date.parse(iso) - g.t0) * px;
    // prelim has a deadline and no expected duration: planned for the hour before its deadline (it ran until 12:00)
    expect(prelim.plan?.start).toBe(Date.parse('2026-12-01T09:00:00.000Z'));
    expect(prelim.plan?.end).toBe(Date.parse('2026-12-01T10:00:00.000Z'));
    expect(prelim.plan?.x).toBeCloseTo(at('2026-12-01T09:00:00.000Z'), 6);
    expect(prelim.plan?.width).toBeCloseTo(H * px, 6);
    expect(prelim.plan!.x + prelim.plan!.width).toBeCloseTo(prelim.deadlineX!, 6);
    // rec was planned after prelim's planned end, for its 2 h; it started two hours later than that
    expect(rec.plan?.start).toBe(Date.parse('2026-12-01T10:00:00.000Z'));
    expect(rec.plan?.end).toBe(Date.parse('2026-12-01T12:00:00.000Z'));
    expect(rec.bar.x - rec.plan!.x).toBeCloseTo(2 * H * px, 6);
    expect(rec.plan!.y).toBeGreaterThanOrEqual(rec.bar.y + rec.bar.height);
    expect(rec.plan!.y + rec.plan!.height).toBeLessThanOrEqual(rec.y + GANTT.rowHeight);
    // a task not started is drawn as its plan already; a task whose plan says nothing gets no strip
    expect(review.plan).toBeUndefined();
    expect(memo.plan).toBeUndefined();
  });

  it('plans nothing before the close has started', () => {
    const s = plan();
    s.tasks = s.tasks.map(({ startedAt: _s, finishedAt: _f, ...t }) => ({ ...t, state: 'pending' }));
    expect(plannedWindows(s)).toEqual([]);
    expect(ganttLayout(s).rows.every((r) => r.plan === undefined)).toBe(true);
  });

  it("holds an FF successor's planned end back to its predecessor's, and ignores a cycle", () => {
    const s: ReportStatus = {
      ...plan(),
      tasks: [
        {
          id: 'a',
          kind: 'manual',
          state: 'done',
          startedAt: '2026-12-01T08:00:00.000Z',
          finishedAt: '2026-12-01T09:00:00.000Z',
          expectedDuration: '3h',
          predecessors: ['d'],
        },
        {
          id: 'b',
          kind: 'manual',
          state: 'running',
          startedAt: '2026-12-01T08:00:00.000Z',
          expectedDuration: '1h',
          predecessors: [{ task: 'a', type: 'FF' }],
        },
      ],
    };
    s.tasks.push(
      {
        id: 'c',
        kind: 'manual',
        state: 'done',
        startedAt: '2026-12-01T08:00:00.000Z',
        predecessors: ['d'],
        deadline: '2026-12-01T09:00:00.000Z',
      },
      {
        id: 'd',
        kind: 'manual',
        state: 'done',
        startedAt: '2026-12-01T08:00:00.000Z',
        predecessors: ['c'],
        expectedDuration: '0h',
      },
    );
    const w = new Map(plannedWindows(s).map((p) => [p.id, p]));
    expect([...w.keys()].sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(w.get('b')).toEqual({
      id: 'b',
      start: Date.parse('2026-12-01T08:00:00.000Z'),
      end: Date.parse('2026-12-01T12:00:00.000Z'),
    });
    // a waits for d, which waits for c (planned up to its 09:00 deadline); c's edge back to d closes a cycle and is ignored
    expect(w.get('a')?.start).toBe(Date.parse('2026-12-01T09:00:00.000Z'));
  });

  it('gives a task that ran in a second a bar wide enough to see', () => {
    const s = plan();
    s.tasks[0] = { ...s.tasks[0], finishedAt: '2026-12-01T08:00:01.000Z' };
    expect(ganttLayout(s).rows[0].bar.width).toBe(GANTT.minBarWidth);
  });

  it('picks tick steps that keep the axis readable and labels them in UTC', () => {
    expect(tickStep(10 * H)).toBe(H);
    expect(tickStep(5 * 24 * H)).toBe(12 * H);
    expect(tickStep(60 * 24 * H)).toBe(7 * 24 * H);
    expect(tickLabel(Date.parse('2026-12-03T14:00:00Z'), H)).toBe('03 Dec 14:00');
    expect(tickLabel(Date.parse('2026-12-03T00:00:00Z'), 24 * H)).toBe('03 Dec');
    const g = ganttLayout(plan());
    expect(g.ticks.length).toBeGreaterThan(1);
    expect(g.ticks.length).toBeLessThanOrEqual(11);
  });
});

describe('the dependency graph layout', () => {
  it('layers each task by its longest chain of predecessors, so every edge points right', () => {
    const edges = [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
      { from: 'a', to: 'c' },
      { from: 'a', to: 'd' },
    ];
    const layers = longestPathLayers(['a', 'b', 'c', 'd'], edges);
    expect(Object.fromEntries(layers)).toEqual({ a: 0, b: 1, c: 2, d: 1 });
    const g = graphLayout(plan());
    const x = new Map(g.nodes.map((n) => [n.taskId, n]));
    for (const e of g.edges) expect(x.get(e.from)!.x + x.get(e.from)!.width).toBeLessThan(x.get(e.to)!.x);
  });

  it('ignores an edge that would close a cycle instead of looping forever', () => {
    const layers = longestPathLayers(
      ['a', 'b'],
      [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'a' },
      ],
    );
    expect(layers.size).toBe(2);
  });

  it('reorders a layer by the barycentre of its neighbours and so removes avoidable crossings', () => {
    // a1 -> b2 and a2 -> b1: in plan order the two edges cross; swapping b1 and b2 uncrosses them.
    const ids = ['a1', 'a2', 'b1', 'b2'];
    const edges = [
      { from: 'a1', to: 'b2' },
      { from: 'a2', to: 'b1' },
    ];
    const layers = longestPathLayers(ids, edges);
    const planOrder = new Map([
      ['a1', 0],
      ['a2', 1],
      ['b1', 0],
      ['b2', 1],
    ]);
    expect(countCrossings(layers, planOrder, edges)).toBe(1);
    const order = orderLayers(ids, layers, edges);
    expect(countCrossings(layers, order, edges)).toBe(0);
    expect(order.get('b2')).toBe(0);
  });

  it('keeps the plan order when sweeping would not reduce crossings', () => {
    const ids = ['a', 'b', 'c'];
    const edges = [
      { from: 'a', to: 'b' },
      { from: 'a', to: 'c' },
    ];
    const order = orderLayers(ids, longestPathLayers(ids, edges), edges);
    expect([order.get('b'), order.get('c')]).toEqual([0, 1]);
  });

  it('draws one node per task without overlaps, and one edge per dependency', () => {
    const g = graphLayout(plan());
    expect(g.nodes.map((n) => n.taskId)).toEqual(['prelim', 'rec', 'review', 'memo']);
    expect(g.edges.map((e) => `${e.from}>${e.to}`)).toEqual(['prelim>rec', 'rec>review', 'prelim>memo']);
    for (const a of g.nodes)
      for (const b of g.nodes)
        if (a !== b)
          expect(a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y).toBe(
            true,
          );
    for (const n of g.nodes) {
      expect(n.x + n.width).toBeLessThanOrEqual(g.width);
      expect(n.y + n.height).toBeLessThanOrEqual(g.height);
    }
    expect(g.edges.find((e) => e.to === 'rec')!.critical).toBe(true);
    expect(g.edges.find((e) => e.to === 'memo')!.critical).toBe(false);
  });

  it('lays out a close with no tasks, or one task that never ran, without failing', () => {
    const empty: ReportStatus = { ...plan(), tasks: [], criticalPath: [] };
    expect(graphLayout(empty).nodes).toEqual([]);
    expect(ganttLayout(empty).rows).toEqual([]);
    const one: ReportStatus = { ...empty, tasks: [{ id: 'a', kind: 'manual', state: 'skipped' }] };
    expect(graphLayout(one).nodes).toHaveLength(1);
    expect(ganttLayout(one).rows[0].bar.width).toBeGreaterThanOrEqual(GANTT.minBarWidth);
  });

  it('wraps a long label into lines without losing a character', () => {
    const id = 'intercompany-loans-eu-subsidiaries-2026';
    const lines = wrapText(id, 20);
    expect(lines.every((l) => l.length <= 20)).toBe(true);
    expect(lines.join('')).toBe(id);
    expect(wrapText('Bank rec', 20)).toEqual(['Bank rec']);
  });
});
