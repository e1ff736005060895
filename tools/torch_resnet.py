"""ResNet v1.5 in PyTorch, as the TypeScript specs build it: the one network definition of
the PyTorch baselines (tools/bench_torch.py times it, tools/torch_reference.py trains it).
Also the seed report's own network and initialisation (`seed_resnet`, `init_like_d2l`), which
tools/torch_reference.py --code=seed trains.

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


# The seed report's code (../shared/seed, figures 3-5), line for line: d2l's Residual with
# biased convolutions, a 1x1 convolution (biased, no batch norm) as the projection shortcut,
# the stride on the first 3x3; the ImageNet stem; global average pool and a linear head. Its
# ResNet-50/101/152 are basic-block stacks, not the paper's networks: only 18 and 34 here.
SEED_LAYERS = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3]}


class SeedResidual(nn.Module):
    def __init__(self, input_channels, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1, stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2d(input_channels, num_channels, kernel_size=1, stride=strides) if use_1x1conv else None
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.conv3:
            x = self.conv3(x)
        y += x
        return torch.relu(y)


def seed_resnet(depth, classes=10):
    """The seed report's ResNet-`depth` (18 or 34) for 1-channel images, PyTorch's default init."""
    def block(cin, cout, n, first=False):
        return [SeedResidual(cin, cout, use_1x1conv=True, strides=2) if i == 0 and not first else SeedResidual(cout, cout)
                for i in range(n)]
    counts = SEED_LAYERS[depth]
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3), nn.BatchNorm2d(64), nn.ReLU(),
                      nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        nn.Sequential(*block(64, 64, counts[0], first=True)), nn.Sequential(*block(64, 128, counts[1])),
        nn.Sequential(*block(128, 256, counts[2])), nn.Sequential(*block(256, 512, counts[3])),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(512, classes))


def init_like_d2l(model):
    """d2l's train_ch6 init: Xavier-uniform weights of every nn.Conv2d and nn.Linear; biases and batch norm keep PyTorch's defaults."""
    def init_weights(m):
        if type(m) == nn.Linear or type(m) == nn.Conv2d:  # noqa: E721 (d2l's test, exact types)
            nn.init.xavier_uniform_(m.weight)
    model.apply(init_weights)
    return model


def parameter_count(model):
    """Trainable parameters (what our specs' `params` counts)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def decay_groups(model, weight_decay):
    """SGD parameter groups as our sgd.ts decays them: conv and linear weights (rank >= 2) only."""
    decay = [p for p in model.parameters() if p.dim() > 1]
    rest = [p for p in model.parameters() if p.dim() <= 1]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]
