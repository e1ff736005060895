/**
 * Renders variant summaries as the paper's Table 1: one row group per stage, one
 * column per variant, then parameters and MACs. Pure: strings in, string out.
 */
import { formatCount, formatMacs } from '@resnet/format';
import type { StageSummary, VariantSummary } from '@resnet/variants';

/**
 * Table 1 as monospace text.
 * @example renderTable(summaries) // 'layer name  output size  18-layer …'
 */
export function renderTable(summaries: readonly VariantSummary[]): string {
  const first = summaries[0];
  if (first === undefined) return '';
  const headers = ['layer name', 'output size', ...summaries.map((s) => `${s.depth}-layer`)];
  const rows: string[][] = [];
  first.stages.forEach((stage, i) => {
    const cells = summaries.map((s) => cell(s.stages[i]));
    const size = stage.name === 'head' ? '1×1' : `${stage.outputSize[0]}×${stage.outputSize[1]}`;
    const height = Math.max(...cells.map((c) => c.length));
    const same = cells.every((c) => c.join('\n') === cells[0]?.join('\n'));
    for (let line = 0; line < height; line++) {
      const name = line === 0 ? stage.name : '';
      const sizeCell = line === 0 ? size : '';
      rows.push(same ? [name, sizeCell, cells[0]?.[line] ?? ''] : [name, sizeCell, ...cells.map((c) => c[line] ?? '')]);
    }
    rows.push([]);
  });
  rows.push(['params', '', ...summaries.map((s) => formatCount(s.params))]);
  rows.push(['MACs', '', ...summaries.map((s) => formatMacs(s.macs))]);
  return layout([headers, [], ...rows]);
}

/** A stage's cell: plain layers first, then the block bracket with its count on the middle line. */
function cell(stage: StageSummary | undefined): readonly string[] {
  if (stage === undefined) return [];
  const plain = stage.layers.length > 0 && stage.blocks === 0 ? [stage.layers.join(', ')] : stage.layers.filter((l) => l.includes('pool'));
  if (stage.blocks === 0) return plain;
  const width = Math.max(...stage.bracket.map((b) => b.length));
  const middle = Math.floor((stage.bracket.length - 1) / 2);
  const bracket = stage.bracket.map((b, i) => `[${b.padEnd(width)}]${i === middle ? ` ×${stage.blocks}` : ''}`);
  return [...plain, ...bracket];
}

/** Pads columns to their widest cell; a row with fewer cells spans the rest. */
function layout(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    // Spanning cells (the last cell of a short row) do not widen their column.
    row.forEach((c, i) => {
      if (i < row.length - 1 || row.length === (rows[0]?.length ?? 0)) widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
