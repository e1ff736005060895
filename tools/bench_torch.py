#!/usr/bin/env python3
"""The PyTorch baseline for `nx run bench:serve`: training throughput of the same ResNet.

Same network as the TypeScript default protocol: ResNet v1.5 (stride on the bottleneck's
3x3), ImageNet stem (7x7/2 conv + 3x3/2 max pool), 1 input channel, 10 classes, batch norm
in training mode; SGD with Nesterov momentum 0.9 and weight decay 5e-4 on conv/linear
weights only; cross-entropy. Random inputs (speed does not depend on the values).
Times whole steps (forward, backward, update) after warm-up and prints one JSON object.

Needs Debian's python3-torch (`apt-get install -y python3-torch`), run with /usr/bin/python3.

    /usr/bin/python3 tools/bench_torch.py --variant 18 --image-size 28 --batch-size 128 --steps 10 --warmup 2
"""
import argparse
import json
import os
import statistics
import sys
import time

try:
    import torch
    from torch import nn
except ImportError as e:  # the bench app turns this into a notice
    print(json.dumps({"error": f"PyTorch is not importable by {sys.executable} ({e}). Fix: apt-get install -y python3-torch"}))
    sys.exit(3)

# Table 1 of He et al. 2016: block kind and blocks per stage.
LAYERS = {18: ("basic", [2, 2, 2, 2]), 34: ("basic", [3, 4, 6, 3]), 50: ("bottleneck", [3, 4, 6, 3]),
          101: ("bottleneck", [3, 4, 23, 3]), 152: ("bottleneck", [3, 8, 36, 3])}


class Basic(nn.Module):
    expansion = 1

    def __init__(self, cin, width, stride):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(cin, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width))
        self.shortcut = shortcut(cin, width, stride)

    def forward(self, x):
        return torch.relu(self.main(x) + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, width, stride):
        super().__init__()
        out = width * 4
        self.main = nn.Sequential(
            nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, out, 1, bias=False), nn.BatchNorm2d(out))
        self.shortcut = shortcut(cin, out, stride)

    def forward(self, x):
        return torch.relu(self.main(x) + self.shortcut(x))


def shortcut(cin, cout, stride):
    if stride == 1 and cin == cout:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


def resnet(depth, in_channels=1, classes=10):
    kind, counts = LAYERS[depth]
    block = Basic if kind == "basic" else Bottleneck
    layers = [nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for stage, (width, n) in enumerate(zip([64, 128, 256, 512], counts)):
        for i in range(n):
            layers.append(block(cin, width, 2 if stage > 0 and i == 0 else 1))
            cin = width * block.expansion
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variant", type=int, default=18, choices=sorted(LAYERS))
    p.add_argument("--image-size", type=int, default=28)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=10, help="timed steps")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="intra-op threads (default: all cores)")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = resnet(a.variant).train()
    decay = [q for n, q in model.named_parameters() if q.dim() > 1]
    rest = [q for n, q in model.named_parameters() if q.dim() <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": rest, "weight_decay": 0.0}],
                          lr=0.01, momentum=0.9, nesterov=True)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(a.batch_size, 1, a.image_size, a.image_size)
    y = torch.randint(0, 10, (a.batch_size,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()  # waits for the step, like the TypeScript side's dataSync

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    median = statistics.median(times)
    print(json.dumps({
        "variant": a.variant, "imageSize": a.image_size, "batchSize": a.batch_size, "backend": "pytorch",
        "examplesPerSec": a.batch_size / median, "medianStepMs": median * 1000, "steps": a.steps, "warmup": a.warmup,
        "device": f"cpu ({torch.get_num_threads()} threads, torch {torch.__version__})",
    }))


if __name__ == "__main__":
    main()
