// The close report: Mermaid pictures checked line by line against Mermaid's grammar (every task drawn once, every
// dependency an edge, nothing invented), and the files written with the reconciliation figures as given.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bars,
  closeDependencyGraph,
  closeGantt,
  createCloseReportActivities,
  mermaidIds,
  statusRows,
  textTable,
  type ReportStatus,
} from '../../activities/close-report';

const summary = {
  reconId: 'gl-vs-erp',
  status: 'exceptions' as const,
  a: { records: 500, amount: '156562.50' },
  b: { records: 499, amount: '156475.25' },
  keys: { matched: 498, amountMismatch: 1, missingInA: 0, missingInB: 1 },
  difference: '87.25',
};

function status(): ReportStatus {
  return {
    closeId: 'close:ACME:2026-10',
    company: 'ACME',
    period: '2026-10',
    state: 'running',
    percentDone: 40,
    closeDeadline: '2026-11-04T23:59:00.000Z',
    criticalPath: ['review', 'report'],
    tasks: [
      {
        id: 'prelim',
        name: 'Preliminary close: GL; sub-ledgers #1',
        kind: 'journal_entry',
        state: 'done',
        ownerRole: 'accountant',
        owner: 'ann',
        startedAt: '2026-11-02T08:00:00.000Z',
        finishedAt: '2026-11-02T12:00:00.000Z',
      },
      {
        id: 'gl_vs_erp',
        name: 'GL vs ERP',
        kind: 'reconciliation',
        state: 'done_with_exceptions',
        ownerRole: 'accountant',
        predecessors: [{ task: 'prelim', type: 'FS' }],
        startedAt: '2026-11-02T12:00:00.000Z',
        finishedAt: '2026-11-02T12:00:30.000Z',
        result: summary,
      },
      {
        id: 'bank.rec-2',
        name: 'Bank "main" account',
        kind: 'reconciliation',
        state: 'running',
        ownerRole: 'accountant',
        predecessors: ['prelim'],
        startedAt: '2026-11-02T12:00:00.000Z',
        expectedDuration: '2h',
      },
      {
        id: 'review',
        name: 'Supervisor review',
        kind: 'approval',
        state: 'pending',
        ownerRole: 'supervisor',
        deadline: '2026-11-03T23:59:00.000Z',
        atRisk: true,
        predecessors: [
          { task: 'gl_vs_erp', type: 'SS_WARN' },
          { task: 'bank.rec-2', type: 'SS_WARN' },
        ],
        expectedDuration: '4h',
      },
      {
        id: 'report',
        kind: 'report',
        state: 'pending',
        ownerRole: 'controller',
        predecessors: ['review', { task: 'gl_vs_erp', type: 'FF' }],
      },
      {
        id: 'ic_loans',
        name: 'Intercompany loans',
        kind: 'manual',
        state: 'blocked',
        ownerRole: 'treasurer',
        late: true,
        attempts: 3,
        reason: 'connector timed out',
        startedAt: '2026-11-02T09:00:00.000Z',
        finishedAt: '2026-11-02T09:30:00.000Z',
      },
    ],
    journal: [{ at: '2026-11-02T12:01:00.000Z', by: 'dora', action: 'reassign', taskId: 'report', reason: 'holiday' }],
  };
}

// A Gantt task line: "<name> : [tags, ]<id>, <start>, <end>" with the chart's dateFormat.
const GANTT_TASK =
  /^ {4}([^:;#\n]+) : ((?:(?:done|active|crit|milestone), )*)([A-Za-z0-9_]+), (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d), (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$/;

function ganttTasks(text: string) {
  return text
    .split('\n')
    .filter((l) => GANTT_TASK.test(l))
    .map((l) => {
      const m = GANTT_TASK.exec(l)!;
      return { name: m[1], tags: m[2].split(', ').filter(Boolean), id: m[3], start: m[4], end: m[5] };
    });
}

describe('the Mermaid Gantt chart of a close', () => {
  it('is a gantt block whose every line is a directive, a section or a task line', () => {
    const lines = closeGantt(status()).split('\n');
    expect(lines[0]).toBe('gantt');
    expect(lines).toContain('    dateFormat YYYY-MM-DD HH:mm:ss');
    for (const l of lines.slice(1))
      expect(
        /^ {4}(title [^\n]+|dateFormat .+|axisFormat .+|todayMarker off|section [^:;#]+)$/.test(l) ||
          GANTT_TASK.test(l),
      ).toBe(true);
  });

  it('draws every task exactly once, with distinct ids, under the section of its kind', () => {
    const text = closeGantt(status());
    const tasks = ganttTasks(text);
    expect(tasks).toHaveLength(6);
    expect(new Set(tasks.map((t) => t.id)).size).toBe(6);
    const ids = mermaidIds(
      status().tasks.map((t) => t.id),
      't_',
    );
    expect(tasks.map((t) => t.id).sort()).toEqual([...ids.values()].sort());
    // The name's ':' ';' '#' would end the name or the line: they are gone, the words stay.
    expect(tasks.find((t) => t.id === 't_prelim')!.name).toBe('Preliminary close GL sub-ledgers 1 (prelim)');
    const sections = text.split('\n').filter((l) => l.startsWith('    section '));
    expect(sections).toEqual([
      '    section Journal entries',
      '    section Reconciliations',
      '    section Approvals',
      '    section Reports',
      '    section Manual',
    ]);
    const afterRecon = text.split('    section Reconciliations')[1].split('    section Approvals')[0];
    expect(ganttTasks(afterRecon).map((t) => t.id)).toEqual(['t_gl_vs_erp', 't_bank_rec_2']);
  });

  it('shows finished tasks as they ran, running ones as active, and the critical path and late tasks as crit', () => {
    const tasks = ganttTasks(closeGantt(status()));
    const by = (id: string) => tasks.find((t) => t.id === id)!;
    expect(by('t_prelim')).toMatchObject({ tags: ['done'], start: '2026-11-02 08:00:00', end: '2026-11-02 12:00:00' });
    expect(by('t_gl_vs_erp')).toMatchObject({ tags: ['done'], end: '2026-11-02 12:00:30' });
    // Running since 12:00 with 2h expected: projected to 14:00.
    expect(by('t_bank_rec_2')).toMatchObject({
      tags: ['active'],
      start: '2026-11-02 12:00:00',
      end: '2026-11-02 14:00:00',
    });
    // Planned after its predecessors' ends, for its expected duration.
    expect(by('t_review')).toMatchObject({ tags: ['crit'], start: '2026-11-02 14:00:00', end: '2026-11-02 18:00:00' });
    expect(by('t_report')).toMatchObject({ tags: ['crit'], start: '2026-11-02 18:00:00', end: '2026-11-02 19:00:00' });
    expect(by('t_ic_loans').tags).toEqual(['crit']);
  });

  it('plans a task with no expected duration up to its deadline, and an FF predecessor holds back its end', () => {
    const s = status();
    s.tasks[4].deadline = '2026-11-04T23:59:00.000Z';
    s.tasks[4].predecessors = [{ task: 'bank.rec-2', type: 'FF' }];
    const b = bars(s).find((x) => x.id === 'report')!;
    // Not started: from "now" (the latest moment in the status, 12:01 of the journal) to the deadline.
    expect(new Date(b.start).toISOString()).toBe('2026-11-02T12:01:00.000Z');
    expect(new Date(b.end).toISOString()).toBe('2026-11-04T23:59:00.000Z');
    s.tasks[4].deadline = undefined;
    const ff = bars(s).find((x) => x.id === 'report')!;
    expect(new Date(ff.end).toISOString()).toBe('2026-11-02T14:00:00.000Z');
  });

  it('marks a skipped task that never started as a milestone at the moment it was settled', () => {
    const s = status();
    s.tasks[5] = { id: 'ic_loans', kind: 'manual', state: 'skipped', finishedAt: '2026-11-02T10:00:00.000Z' };
    const t = ganttTasks(closeGantt(s)).find((x) => x.id === 't_ic_loans')!;
    expect(t).toMatchObject({ tags: ['done', 'milestone'], start: '2026-11-02 10:00:00', end: '2026-11-02 10:00:00' });
  });
});

describe('the Mermaid dependency graph of a close', () => {
  const NODE = /^ {4}(n_[A-Za-z0-9_]+)\["([^"]*)"\]$/;
  const EDGE = /^ {4}(n_[A-Za-z0-9_]+) (-->|-\.->\|SS_WARN\||-->\|FF\|) (n_[A-Za-z0-9_]+)$/;
  const CLASSDEF = /^ {4}classDef [a-z]+ [a-z-]+:[^\s]+$/;
  const CLASS = /^ {4}class (n_[A-Za-z0-9_]+(?:,n_[A-Za-z0-9_]+)*) [a-z]+$/;

  it('is a flowchart whose every line is a node, an edge, a class definition or a class assignment', () => {
    const lines = closeDependencyGraph(status()).split('\n');
    expect(lines[0]).toBe('flowchart LR');
    for (const l of lines.slice(1)) expect([NODE, EDGE, CLASSDEF, CLASS].some((r) => r.test(l))).toBe(true);
  });

  it('has one node per task and exactly the plan dependencies as edges, typed', () => {
    const lines = closeDependencyGraph(status()).split('\n');
    const nodes = lines.filter((l) => NODE.test(l)).map((l) => NODE.exec(l)![1]);
    expect(nodes).toEqual(['n_prelim', 'n_gl_vs_erp', 'n_bank_rec_2', 'n_review', 'n_report', 'n_ic_loans']);
    const edges = lines
      .filter((l) => EDGE.test(l))
      .map((l) => {
        const m = EDGE.exec(l)!;
        return `${m[1]} ${m[2]} ${m[3]}`;
      });
    expect(edges.sort()).toEqual(
      [
        'n_prelim --> n_gl_vs_erp',
        'n_prelim --> n_bank_rec_2',
        'n_gl_vs_erp -.->|SS_WARN| n_review',
        'n_bank_rec_2 -.->|SS_WARN| n_review',
        'n_review --> n_report',
        'n_gl_vs_erp -->|FF| n_report',
      ].sort(),
    );
  });

  it('escapes quotes and markup in labels and colours nodes by state, critical ones thick', () => {
    const text = closeDependencyGraph(status());
    expect(text).toContain('n_bank_rec_2["bank.rec-2<br/>Bank #quot;main#quot; account<br/>running"]');
    expect(text).toContain('n_prelim["prelim<br/>Preliminary close: GL; sub-ledgers #35;1<br/>done"]');
    expect(text).toContain('n_review["review<br/>Supervisor review<br/>pending (at risk)"]');
    expect(text).toContain('    class n_ic_loans blocked');
    expect(text).toContain('    class n_gl_vs_erp warn');
    expect(text).toContain('    class n_review,n_report critical');
  });

  it('gives two task ids that reduce to the same Mermaid id distinct ids', () => {
    expect([...mermaidIds(['a.b', 'a-b', 'a_b'], 'n_').values()]).toEqual(['n_a_b', 'n_a_b_2', 'n_a_b_3']);
  });
});

describe('the status table', () => {
  it('lists task, kind, owner, state, deadline, late/at-risk, blockers and the critical path marker', () => {
    const rows = statusRows(status());
    expect(rows.find((r) => r.task === 'ic_loans')).toEqual({
      task: 'ic_loans',
      kind: 'manual',
      owner: '(treasurer)',
      state: 'blocked x3',
      deadline: '',
      'late/at-risk': 'LATE',
      blockers: 'connector timed out',
      critical: '',
    });
    expect(rows.find((r) => r.task === 'review')).toMatchObject({
      deadline: '2026-11-03 23:59Z',
      'late/at-risk': 'at risk',
      critical: '*',
    });
    expect(rows[0].owner).toBe('ann (accountant)');
    const text = textTable(rows).split('\n');
    expect(text[0]).toMatch(/^task +kind +owner +state +deadline +late\/at-risk +blockers +critical$/);
    expect(text).toHaveLength(2 + 6);
  });
});

describe('generateCloseReport', () => {
  it('writes Markdown and HTML with both diagrams, the table, the figures as given and the actions taken', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'close-report-'));
    const { generateCloseReport } = createCloseReportActivities({ closeReport: { dir } });
    const out = await generateCloseReport({ closeWorkflowId: 'close:ACME:2026-10', status: status() });
    expect(out.paths).toEqual([
      join(dir, 'close_ACME_2026-10', 'close-report.md'),
      join(dir, 'close_ACME_2026-10', 'close-report.html'),
      join(dir, 'close_ACME_2026-10', 'close-report.pdf'),
    ]);
    const md = readFileSync(out.paths[0], 'utf8');
    expect(md).toContain('```mermaid\ngantt\n');
    expect(md).toContain('```mermaid\nflowchart LR\n');
    expect(md).toContain(
      '| gl_vs_erp | gl-vs-erp | exceptions | 500 | 156562.50 | 499 | 156475.25 | 498 | 1 | 0 | 1 | 87.25 |',
    );
    expect(md).toContain('| 2026-11-02 12:01Z | dora | reassign | report | holiday |');
    expect(md).toContain('- Critical path: review -> report');
    const html = readFileSync(out.paths[1], 'utf8');
    // The Mermaid text stays available (folded away) for pasting elsewhere.
    expect(html).toContain('<summary>Mermaid source of both pictures</summary><pre>gantt\n');
    expect(html).toContain('Bank #quot;main#quot; account');
    expect(html).not.toContain('<script');
    expect(html).toContain('<td>156562.50</td>');
    // Same status, same bytes: a retried activity rewrites an identical report.
    const again = await generateCloseReport({ closeWorkflowId: 'close:ACME:2026-10', status: status() });
    expect(again.files.map((f) => f.sha256)).toEqual(out.files.map((f) => f.sha256));
  });

  it('draws the pictures in the HTML itself: one SVG bar per task in the Gantt chart and one node per task in the graph', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'close-report-'));
    const { generateCloseReport } = createCloseReportActivities({ closeReport: { dir } });
    const s = status();
    const out = await generateCloseReport({ closeWorkflowId: 'close:ACME:2026-10', status: s });
    const html = readFileSync(out.paths[1], 'utf8');
    const gantt = /<svg [^>]*class="gantt"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? '';
    const dag = /<svg [^>]*class="dag"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? '';
    const attr = (svg: string, re: RegExp) => [...svg.matchAll(re)].map((m) => m[1].replace(/&quot;/g, '"'));
    const ids = s.tasks.map((t) => t.id);
    expect(attr(gantt, /<rect class="bar[^"]*" data-task="([^"]+)"/g)).toEqual(ids);
    expect(attr(dag, /<g class="node[^"]*" data-task="([^"]+)"/g)).toEqual(ids);
    // One edge per dependency; late tasks red, the critical path outlined, the "as of" line and the deadlines drawn.
    expect(attr(dag, /<path class="edge" data-from="([^"]+)"/g)).toHaveLength(6);
    expect(gantt).toMatch(/<rect class="bar late" data-task="ic_loans"[^>]* fill="#e53935"/);
    expect(gantt).toMatch(/<rect class="bar critical" data-task="review"[^>]* stroke="#111111" stroke-width="2.5"/);
    expect(gantt).toContain('<line class="now"');
    expect(gantt.match(/<path class="deadline"/g)).toHaveLength(1);
    // Planned beside actual: a thin plan strip under every bar of a task that ran, when the plan says something.
    const ran = s.tasks.filter((t) => t.startedAt && (t.expectedDuration || t.deadline)).map((t) => t.id);
    expect(ran.length).toBeGreaterThan(0);
    expect(attr(gantt, /<rect class="plan" data-task="([^"]+)"/g)).toEqual(ran);
    expect(gantt).toContain('Bank &quot;main&quot; account (bank.rec-2)');
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('draws the same pictures in a PDF whose text holds every task of the Gantt chart, the graph and the table', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'close-report-'));
    const { generateCloseReport } = createCloseReportActivities({ closeReport: { dir } });
    const s = status();
    const out = await generateCloseReport({ closeWorkflowId: 'close:ACME:2026-10', status: s });
    const pdf = out.paths.find((p) => p.endsWith('.pdf'))!;
    expect(readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');
    const text = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' });
    for (const h of ['Close report ACME 2026-10', 'Timeline', 'Dependencies', 'Tasks', 'as of 2026-11-02 12:01Z'])
      expect(text).toContain(h);
    // Each task: its Gantt label, its graph node and its table row.
    const count = (needle: string) => text.split(needle).length - 1;
    for (const t of s.tasks) expect(count(t.id)).toBeGreaterThanOrEqual(3);
    expect(text).toContain('Bank "main" account (bank.rec-2)');
  });

  it('refuses a close id that could leave the report directory', async () => {
    const { generateCloseReport } = createCloseReportActivities({ closeReport: { dir: tmpdir() } });
    await expect(generateCloseReport({ closeWorkflowId: '../../etc', status: status() })).rejects.toThrow(
      /cannot name a report directory/,
    );
  });
});
