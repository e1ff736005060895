"""ResNet v1.5 in PyTorch, as the TypeScript specs build it: the one network definition of
the PyTorch baselines (tools/bench_torch.py times it, tools/torch_reference.py trains it).

Table 1 of He et al. 2016 with torchvision's v1.5 blocks (a bottleneck's stride on its 3x3),
projection shortcuts (1x1 conv + batch norm) where the shape changes, the ImageNet stem
(7x7/2 conv + batch norm + ReLU + 3x3/2 max pool), global average pool and a linear head.
Batch norm has PyTorch's defaults (eps 1e-5, momentum 0.1), as our specs do.

`init_like_ours` initialises as libs/tfjs/src/model.ts `initModel` does: convolutions He-normal
with fan-out (std sqrt(2 / (k*k*out))), batch norm gamma 1 and beta 0, the linear layer uniform
in +-1/sqrt(fan_in) (weight and bias; PyTorch's default for nn.Linear), and with
`zero_init_residual` the last batch norm of each block's main branch at gamma 0. The
distributions are the same; the values are not (our seeded mulberry32 Box-Muller draws
against torch's generator).

Imported by the scripts beside it; needs Debian's python3-torch (run with /usr/bin/python3).
"""
import torch
from torch import nn

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
    """ResNet-`depth` (18, 34, 50, 101, 152) v1.5 with the ImageNet stem, PyTorch's default init."""
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


def init_like_ours(model, zero_init_residual):
    """Re-initialises `model` (from `resnet`) in place as our initModel does; see the module docstring."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                bound = 1 / m.in_features ** 0.5
                nn.init.uniform_(m.weight, -bound, bound)
                nn.init.uniform_(m.bias, -bound, bound)
        if zero_init_residual:
            for m in model.modules():
                if isinstance(m, (Basic, Bottleneck)):
                    nn.init.zeros_(m.main[-1].weight)
    return model


def decay_groups(model, weight_decay):
    """SGD parameter groups as our sgd.ts decays them: conv and linear weights (rank >= 2) only."""
    decay = [p for p in model.parameters() if p.dim() > 1]
    rest = [p for p in model.parameters() if p.dim() <= 1]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]
