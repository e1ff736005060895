// tools/torch_resnet.py is the PyTorch baselines' one network (bench:serve times it,
// tools/torch_reference.py trains it): it must be the network our specs describe, or every
// "ours against PyTorch" figure compares two different models. Per depth, for 1 input channel
// and 10 classes: trainable parameters, batch-norm running statistics, weighted layers on the
// main path, multiply-accumulates per 28×28 image (where a bottleneck's stride sits changes only
// these) and the output shape, against the spec's own fold (summarize).
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import * as E from 'fp-ts/Either';
import { DEPTHS, resnet, summarize } from '@resnet/variants';
import { defaultPython } from './pytorch.ts';

const TOOLS = resolve(__dirname, '../../../tools');
const hasTorch = spawnSync(defaultPython(), ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!hasTorch && process.env['CI'] !== 'true')
  console.warn(`[bench] SKIPPED the PyTorch network check: ${defaultPython()} cannot import torch (apt-get install -y python3-torch)`);

const PROBE = `
import json, sys
sys.path.insert(0, ${JSON.stringify(TOOLS)})
import torch
from torch import nn
from torch_resnet import resnet
out = {}
for depth in (18, 34, 50, 101, 152):
    model = resnet(depth, in_channels=1, classes=10).eval()
    shortcut = {id(m) for b in model.modules() if hasattr(b, "shortcut") for m in b.shortcut.modules()}
    # Multiply-accumulates per image, as the spec counts them: where a stride sits (v1 or v1.5) shows here only.
    macs = [0]
    def count(m, inputs, output):
        if isinstance(m, nn.Conv2d):
            macs[0] += output.shape[1] * output.shape[2] * output.shape[3] * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            macs[0] += m.in_features * m.out_features
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.register_forward_hook(count)
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    hooked = macs[0]
    with torch.no_grad():
        shape = list(model(torch.zeros(2, 1, 28, 28)).shape)
    out[depth] = {
        "params": sum(p.numel() for p in model.parameters()),
        "running": sum(b.numel() for n, b in model.named_buffers() if n.endswith("running_mean") or n.endswith("running_var")),
        "weighted": sum(1 for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and id(m) not in shortcut),
        "macs": hooked,
        "output": shape,
    }
print(json.dumps(out))
`;

(hasTorch || process.env['CI'] === 'true' ? describe : describe.skip)('tools/torch_resnet.py is the network of our specs', () => {
  test('per depth: the same trainable parameters, running statistics, weighted layers, MACs and output shape as the v1.5 spec (1 channel, 10 classes)', () => {
    const r = spawnSync(defaultPython(), ['-c', PROBE], { encoding: 'utf8', cwd: join(TOOLS, '..'), timeout: 120_000 });
    if (r.status !== 0) throw new Error(`the probe failed (exit ${r.status}): ${r.stderr}`);
    const torch = JSON.parse(r.stdout) as Record<
      string,
      { params: number; running: number; weighted: number; macs: number; output: number[] }
    >;
    for (const depth of DEPTHS) {
      const spec = resnet(depth, { version: 'v1.5', inChannels: 1, classes: 10, stem: 'imagenet' });
      if (E.isLeft(spec)) throw new Error(spec.left.message);
      const summary = summarize(spec.right, 28);
      if (E.isLeft(summary)) throw new Error(summary.left.message);
      expect({ depth, ...torch[String(depth)] }).toEqual({
        depth,
        params: summary.right.params,
        running: summary.right.nonTrainableParams,
        weighted: summary.right.weightedLayers,
        macs: summary.right.macs,
        output: [2, 10],
      });
    }
  }, 180_000);
});
