import * as E from 'fp-ts/Either';
import { DEPTHS, resnet, summarize, type VariantSummary } from '@resnet/variants';
import { renderTable } from './render.ts';

function summaries(options: Parameters<typeof resnet>[1], input: number): VariantSummary[] {
  return DEPTHS.map((d) => {
    const s = E.flatMap((spec: Parameters<typeof summarize>[0]) => summarize(spec, input))(resnet(d, options));
    if (E.isLeft(s)) throw new Error(s.left.message);
    return s.right;
  });
}

describe('renderTable', () => {
  const text = renderTable(summaries({}, 224));

  test('has a column per variant and a row group per stage with Table 1’s output sizes', () => {
    expect(text.split('\n')[0]).toMatch(/^layer name\s+output size\s+18-layer\s+34-layer\s+50-layer\s+101-layer\s+152-layer$/);
    for (const [stage, size] of [
      ['conv1', '112×112'],
      ['conv2_x', '56×56'],
      ['conv3_x', '28×28'],
      ['conv4_x', '14×14'],
      ['conv5_x', '7×7'],
      ['head', '1×1'],
    ]) {
      expect(text).toMatch(new RegExp(`^${stage}\\s+${size}`, 'm'));
    }
  });

  test('shows basic brackets for 18/34 and bottleneck brackets with block counts for 50/101/152', () => {
    expect(text).toMatch(/\[3×3, 256\] ×6\s+\[1×1, 256 \]/);
    expect(text).toMatch(/\[3×3, 256 \] ×23\s+\[3×3, 256 \] ×36/);
    expect(text).toContain('[1×1, 2048]');
  });

  test('ends with torchvision’s parameter counts and the MACs', () => {
    expect(text).toMatch(/^params\s+11,689,512\s+21,797,672\s+25,557,032\s+44,549,160\s+60,192,808$/m);
    expect(text).toMatch(/^MACs\s+1\.814×10⁹\s+3\.664×10⁹\s+3\.858×10⁹\s+7\.570×10⁹\s+11\.282×10⁹$/m);
  });

  test('follows the options: 28×28 Fashion-MNIST with the small stem keeps 28 in conv2_x', () => {
    const small = renderTable(summaries({ inChannels: 1, classes: 10, stem: 'small' }, 28));
    expect(small).toMatch(/^conv1\s+28×28\s+3×3, 64$/m);
    expect(small).toMatch(/^conv2_x\s+28×28/m);
    expect(small).toContain('average pool, 10-d fc');
    expect(small).not.toContain('max pool');
  });
});
