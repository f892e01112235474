import { formatNumber, type Report } from './results';

function render(raw: string[][], rightAligned: Set<number>): string {
  const rows = raw.map((r) => r.map((cell) => cell.replace(/\s+/g, ' ').replace(/\|/g, '/').trim()));
  const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (rightAligned.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join('\n');
}

/** One row per figure: median of the runs with min–max; a Markdown table, so it pastes into the README. */
export function figuresTable(reports: Report[]): string {
  const rows = [['bench', 'figure', 'median', 'min', 'max', 'unit', 'runs']];
  for (const report of reports) {
    if (report.figures.length === 0 || report.runs === 0) {
      rows.push([report.name, report.error ? `FAILED: ${report.error.slice(0, 100)}` : 'no figures', '', '', '', '', String(report.runs)]);
      continue;
    }
    for (const f of report.figures) {
      rows.push([report.name, f.label, formatNumber(f.median, f.digits), formatNumber(f.min, f.digits), formatNumber(f.max, f.digits), f.unit, String(report.runs)]);
    }
    if (report.error) rows.push([report.name, `a later run FAILED: ${report.error.slice(0, 100)}`, '', '', '', '', '']);
  }
  return render(rows, new Set([2, 3, 4, 6]));
}

/** One row per drill check: ok/FAIL with what was observed. */
export function checksTable(reports: Report[]): string {
  const rows = [['drill', 'check', 'result', 'observed']];
  for (const report of reports) {
    if (report.error) rows.push([report.name, 'ran to the end', 'FAIL', report.error.slice(0, 160)]);
    for (const c of report.checks) rows.push([report.name, c.name, c.ok ? 'ok' : 'FAIL', c.detail]);
  }
  return render(rows, new Set());
}
