#!/usr/bin/env python3
"""The PyTorch baseline for `nx run bench:serve`: training (or inference) throughput of the same ResNet.

Same network as the TypeScript default protocol (tools/torch_resnet.py): ResNet v1.5 (stride
on the bottleneck's 3x3), ImageNet stem (7x7/2 conv + 3x3/2 max pool), 1 input channel,
10 classes, batch norm in training mode; SGD with Nesterov momentum 0.9 and weight decay 5e-4 on conv/linear
weights only; cross-entropy. Random inputs (speed does not depend on the values).
Times whole steps (forward, backward, update) after warm-up and prints one JSON object.
With --mode infer: the test pass instead, eval mode under torch.no_grad(), forward and argmax.
With --precision bf16: PyTorch's own mixed precision on the CPU, the forward and the loss under
torch.autocast("cpu", dtype=torch.bfloat16) (weights, gradients and the update stay fp32).

Needs Debian's python3-torch (`apt-get install -y python3-torch`), run with /usr/bin/python3.

    /usr/bin/python3 tools/bench_torch.py --variant 18 --image-size 28 --batch-size 128 --steps 10 --warmup 2
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

try:
    import torch
    from torch import nn
except ImportError as e:  # the bench app turns this into a notice
    print(json.dumps({"error": f"PyTorch is not importable by {sys.executable} ({e}). Fix: apt-get install -y python3-torch"}))
    sys.exit(3)

from torch_resnet import LAYERS, decay_groups, init_like_ours, resnet  # noqa: E402 (after the torch check)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mode", choices=["train", "infer"], default="train",
                   help="train: whole SGD steps; infer: eval-mode forward + argmax under torch.no_grad()")
    p.add_argument("--variant", type=int, default=18, choices=sorted(LAYERS))
    p.add_argument("--image-size", type=int, default=28)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=10, help="timed steps")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: forward and loss under torch.autocast('cpu', dtype=torch.bfloat16)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="intra-op threads (default: all cores)")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = init_like_ours(resnet(a.variant), zero_init_residual=True).train()
    opt = torch.optim.SGD(decay_groups(model, 5e-4), lr=0.01, momentum=0.9, nesterov=True)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(a.batch_size, 1, a.image_size, a.image_size)
    y = torch.randint(0, 10, (a.batch_size,))

    autocast = a.precision == "bf16"

    def train_step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()  # waits for the step, like the TypeScript side's dataSync

    def infer_step():
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            return model(x).argmax(1).tolist()  # the classes, as the test pass reads them

    if a.mode == "infer":
        model.eval()
    step = infer_step if a.mode == "infer" else train_step

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    median = statistics.median(times)
    print(json.dumps({
        "mode": a.mode, "variant": a.variant, "imageSize": a.image_size, "batchSize": a.batch_size, "backend": "pytorch",
        "examplesPerSec": a.batch_size / median, "medianStepMs": median * 1000, "steps": a.steps, "warmup": a.warmup,
        "precision": a.precision,
        # this process's resident-memory high-water mark (Linux reports kilobytes)
        "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "device": f"cpu ({torch.get_num_threads()} threads, torch {torch.__version__}{', bf16 autocast' if autocast else ''})",
    }))


if __name__ == "__main__":
    main()
