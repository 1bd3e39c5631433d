// Geometry of the close's dependency graph: a layered drawing, left to right. Each task sits in the layer of its
// longest chain of predecessors (so every arrow points right), and tasks within a layer are ordered to cut
// crossings with barycentre sweeps: a task moves towards the average position of its neighbours. Pure numbers,
// tested on their own; svg.ts turns them into markup.
import { dependencies, type ReportStatus } from './model';

export interface GraphNode {
  taskId: string;
  layer: number;
  /** Position within its layer, from the top. */
  order: number;
  x: number;
  y: number;
  width: number;
  height: number;
  lines: string[];
  state: string;
  late: boolean;
  atRisk: boolean;
  critical: boolean;
}

export interface GraphEdge {
  from: string;
  to: string;
  type: string;
  critical: boolean;
  /** SVG path data: a curve from the right of the source to the left of the target. */
  path: string;
  /** Where a type label (FF, SS_WARN) goes. */
  labelAt: { x: number; y: number };
}

export interface GraphLayout {
  width: number;
  height: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
  crossings: number;
}

export const GRAPH = {
  nodeWidth: 164,
  lineHeight: 13,
  nodePad: 7,
  gapX: 48,
  gapY: 18,
  margin: 10,
  /** Characters per label line at the node's font size. */
  lineChars: 22,
  sweeps: 4,
} as const;

type Edge = { from: string; to: string };

/** Layer of each node: 0 for a task with no predecessor, else one more than its deepest predecessor. */
export function longestPathLayers(ids: readonly string[], edges: readonly Edge[]): Map<string, number> {
  const known = new Set(ids);
  const preds = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const e of edges) if (known.has(e.from) && known.has(e.to)) preds.get(e.to)!.push(e.from);
  const layer = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (id: string): number => {
    const done = layer.get(id);
    if (done !== undefined) return done;
    // A cycle cannot reach a running close (the plan is refused at start); an edge closing one is ignored here.
    visiting.add(id);
    let l = 0;
    for (const p of preds.get(id)!) if (!visiting.has(p)) l = Math.max(l, visit(p) + 1);
    visiting.delete(id);
    layer.set(id, l);
    return l;
  };
  for (const id of ids) visit(id);
  return layer;
}

/**
 * Pairs of edges between the same two layers whose ends are in opposite order: each such pair crosses once in a
 * drawing with straight or monotone edges. Edges that span different layers are not compared (a simple measure,
 * enough to tell a better ordering from a worse one).
 */
export function countCrossings(
  layers: ReadonlyMap<string, number>,
  order: ReadonlyMap<string, number>,
  edges: readonly Edge[],
): number {
  const spans = new Map<string, [number, number][]>();
  for (const e of edges) {
    const a = layers.get(e.from);
    const b = layers.get(e.to);
    if (a === undefined || b === undefined) continue;
    const k = `${a}>${b}`;
    spans.set(k, [...(spans.get(k) ?? []), [order.get(e.from)!, order.get(e.to)!]]);
  }
  let n = 0;
  for (const list of spans.values())
    for (let i = 0; i < list.length; i++)
      for (let j = i + 1; j < list.length; j++) if ((list[i][0] - list[j][0]) * (list[i][1] - list[j][1]) < 0) n++;
  return n;
}

/**
 * Order within layers: start from the plan's order, then sweep right (each layer sorted by the mean position of
 * its predecessors) and left (by its successors), keeping the best ordering seen. Ties keep the current order, so
 * the result is stable for a given plan.
 */
export function orderLayers(
  ids: readonly string[],
  layers: ReadonlyMap<string, number>,
  edges: readonly Edge[],
  sweeps: number = GRAPH.sweeps,
): Map<string, number> {
  const depth = Math.max(0, ...layers.values()) + 1;
  const byLayer: string[][] = Array.from({ length: depth }, () => []);
  for (const id of ids) byLayer[layers.get(id)!].push(id);
  const preds = new Map<string, string[]>(ids.map((id) => [id, []]));
  const succs = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const e of edges)
    if (layers.has(e.from) && layers.has(e.to)) {
      preds.get(e.to)!.push(e.from);
      succs.get(e.from)!.push(e.to);
    }
  const positions = () => {
    const m = new Map<string, number>();
    for (const layer of byLayer) layer.forEach((id, i) => m.set(id, i));
    return m;
  };
  let best = positions();
  let bestCrossings = countCrossings(layers, best, edges);
  const reorder = (layer: string[], neighbours: Map<string, string[]>, pos: Map<string, number>) => {
    const keyed = layer.map((id, i) => {
      const ns = neighbours.get(id)!;
      return { id, i, key: ns.length ? ns.reduce((s, n) => s + pos.get(n)!, 0) / ns.length : i };
    });
    keyed.sort((a, b) => a.key - b.key || a.i - b.i);
    layer.splice(0, layer.length, ...keyed.map((k) => k.id));
  };
  for (let s = 0; s < sweeps; s++) {
    const down = s % 2 === 0;
    const range = down ? [...byLayer.keys()].slice(1) : [...byLayer.keys()].reverse().slice(1);
    for (const l of range) reorder(byLayer[l], down ? preds : succs, positions());
    const now = positions();
    const c = countCrossings(layers, now, edges);
    if (c < bestCrossings) [best, bestCrossings] = [now, c];
  }
  return best;
}

/** Splits a label into lines of at most `width` characters, at spaces or separators where it can, never dropping a character. */
export function wrapText(s: string, width: number): string[] {
  const out: string[] = [];
  let rest = s.replace(/\s+/g, ' ').trim();
  while (rest.length > width) {
    const slice = rest.slice(0, width + 1);
    const cut = Math.max(slice.lastIndexOf(' '), slice.lastIndexOf('-') + 1, slice.lastIndexOf('_') + 1);
    const at = cut > width / 3 ? cut : width;
    out.push(rest.slice(0, at).trimEnd());
    rest = rest.slice(at).trimStart();
  }
  if (rest || !out.length) out.push(rest);
  return out;
}

function nodeLines(t: ReportStatus['tasks'][number]): string[] {
  const flags = [t.late ? 'LATE' : '', t.atRisk ? 'at risk' : ''].filter(Boolean).join(', ');
  return [
    ...wrapText(t.id, GRAPH.lineChars),
    ...(t.name && t.name !== t.id ? wrapText(t.name, GRAPH.lineChars) : []),
    `${t.state}${flags ? ` (${flags})` : ''}`,
  ];
}

export function graphLayout(status: ReportStatus): GraphLayout {
  const G = GRAPH;
  const ids = status.tasks.map((t) => t.id);
  const deps = dependencies(status.tasks).filter((d) => ids.includes(d.from) && ids.includes(d.to));
  const layers = longestPathLayers(ids, deps);
  const order = orderLayers(ids, layers, deps);
  const critical = new Set(status.criticalPath ?? []);
  const lines = new Map(status.tasks.map((t) => [t.id, nodeLines(t)]));
  // One node height for all, so layers line up in rows and arrows stay readable.
  const height = Math.max(...[...lines.values()].map((l) => l.length), 1) * G.lineHeight + 2 * G.nodePad;
  const perLayer = new Map<number, number>();
  for (const l of layers.values()) perLayer.set(l, (perLayer.get(l) ?? 0) + 1);
  const tallest = Math.max(1, ...perLayer.values());
  const nodes: GraphNode[] = status.tasks.map((t) => {
    const layer = layers.get(t.id)!;
    const o = order.get(t.id)!;
    // Short layers are centred against the tallest, so a chain reads as a straight line.
    const offset = ((tallest - perLayer.get(layer)!) * (height + G.gapY)) / 2;
    return {
      taskId: t.id,
      layer,
      order: o,
      x: G.margin + layer * (G.nodeWidth + G.gapX),
      y: G.margin + offset + o * (height + G.gapY),
      width: G.nodeWidth,
      height,
      lines: lines.get(t.id)!,
      state: t.state,
      late: !!t.late,
      atRisk: !!t.atRisk,
      critical: critical.has(t.id),
    };
  });
  const at = new Map(nodes.map((n) => [n.taskId, n]));
  const edges: GraphEdge[] = deps.map((d) => {
    const a = at.get(d.from)!;
    const b = at.get(d.to)!;
    const x1 = a.x + a.width;
    const y1 = a.y + a.height / 2;
    const x2 = b.x;
    const y2 = b.y + b.height / 2;
    const bend = Math.max(24, (x2 - x1) / 2);
    return {
      from: d.from,
      to: d.to,
      type: d.type,
      critical: critical.has(d.from) && critical.has(d.to),
      path: `M${r(x1)},${r(y1)} C${r(x1 + bend)},${r(y1)} ${r(x2 - bend)},${r(y2)} ${r(x2)},${r(y2)}`,
      labelAt: { x: r((x1 + x2) / 2), y: r((y1 + y2) / 2 - 3) },
    };
  });
  const depth = Math.max(0, ...layers.values()) + 1;
  return {
    width: 2 * G.margin + depth * G.nodeWidth + (depth - 1) * G.gapX,
    height: 2 * G.margin + tallest * height + (tallest - 1) * G.gapY,
    nodes,
    edges,
    crossings: countCrossings(layers, order, deps),
  };
}

/** Coordinates to a tenth of a pixel: enough for a screen, and the markup stays short and stable. */
export function r(v: number): number {
  return Math.round(v * 10) / 10;
}
