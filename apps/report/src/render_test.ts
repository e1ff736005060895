import * as E from 'fp-ts/Either';
import { allChart, runChart, RUN_SERIES } from '@resnet/results';
import { memoryRun } from '@resnet/results/testing';
import { pngSize } from './_test_png.ts';
import { renderChart } from './render.ts';
import { buildRows } from '@resnet/results';

const rows = buildRows([memoryRun('runs/resnet18', 18, { epochs: 3 }), memoryRun('runs/resnet50', 50, { epochs: 2 })]);
if (E.isLeft(rows)) throw new Error(rows.left);
const [r18] = rows.right;
if (r18 === undefined) throw new Error('no row');

describe('charts', () => {
  test('a run’s chart spec has the three d2l series, one point per series and epoch', () => {
    const spec = runChart(r18) as { data: { values: { epoch: number; series: string; value: number }[] } };
    expect(spec.data.values).toHaveLength(9);
    expect(new Set(spec.data.values.map((v) => v.series))).toEqual(new Set(RUN_SERIES));
    expect(spec.data.values).toContainEqual({ epoch: 2, series: 'test acc', value: 0.7 });
  });

  test('a run’s chart renders to an SVG with a legend of the three series, and to a PNG', async () => {
    const { svg, png } = await renderChart(runChart(r18));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    for (const name of [...RUN_SERIES, 'epoch', 'ResNet-18']) expect(svg).toContain(name);
    expect(pngSize(png)).toEqual({ width: expect.any(Number), height: expect.any(Number) });
    expect(pngSize(png)?.width).toBeGreaterThan(400);
    expect(pngSize(png)?.height).toBeGreaterThan(300);
  });

  test('the combined chart has a line per run in both panels', async () => {
    const { svg, png } = await renderChart(allChart(rows.right));
    for (const name of ['ResNet-18', 'ResNet-50', 'test accuracy', 'training loss']) expect(svg).toContain(name);
    const size = pngSize(png);
    expect(size?.height).toBeGreaterThan((size?.width ?? Infinity) / 2);
  });
});
