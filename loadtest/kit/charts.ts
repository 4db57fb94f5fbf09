/** SVG charts of a report (no dependencies). */
import type { Report } from './report.js';
import type { RunData } from './runner.js';

export function renderCharts(report: Report, run: RunData): Record<string, string> {
  void report;
  void run;
  return {};
}
