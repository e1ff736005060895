#!/usr/bin/env python3
"""PyTorch reference of our `default` protocol, or the seed report's own code: trains in PyTorch and writes a run directory in our format.

Run with Debian's python3-torch (CPU), from the repository root:

    /usr/bin/python3 tools/torch_reference.py --variant 18 --out runs/reference/pytorch-resnet18
    /usr/bin/python3 tools/torch_reference.py --code seed --variant 18 --out runs/reference/seed-code-resnet18

--code ours (the default) trains our network our way; what it matches, and where in our code
each rule lives:

- Network (tools/torch_resnet.py): ResNet v1.5, ImageNet stem (7x7/2 conv + 3x3/2 max pool),
  1 input channel, 10 classes, batch norm eps 1e-5 / momentum 0.1 with unbiased running variance.
  Init as libs/tfjs/src/model.ts: He-normal fan-out convolutions, gamma 1 / beta 0, linear
  uniform +-1/sqrt(fan_in), the last batch norm of each block's main branch at gamma 0.
- Data (libs/training/src/pipeline.ts): the official gz files read directly; per image a crop
  offset dy, dx uniform in -4..4 with black (grey 0) outside the image, then a horizontal flip
  with probability 1/2, applied to the grey bytes before normalising (v/255 - 0.286) / 0.353,
  so the padding is the normalised black (-0.810), as ours. A fresh shuffle every epoch;
  batches of --mini-batch in order, the last one smaller (not dropped). --train-limit and
  --test-limit take the first N images, as ours.
- Optimiser (libs/training/src/sgd.ts): torch.optim.SGD, Nesterov momentum 0.9, dampening 0,
  weight decay 5e-4 added to the gradient of conv and linear weights only (rank >= 2), which
  is the update our sgdStep documents (d = g + wd*p; v = mu*v + d; p -= lr*(d + mu*v)).
  Before it, the gradient's global L2 norm is clipped to 2 (torch.nn.utils.clip_grad_norm_, the
  protocol's clipNorm; --clip-norm sets another, 0 none), weight decay not clipped, as ours.
- Schedule (libs/training/src/schedule.ts `learningRate`, Cosine): per step, linear warm-up
  lr*(t+1)/W over the first W = floor(warmupEpochs*stepsPerEpoch) steps, then cosine to 0,
  reached exactly at the last step. warmupEpochs is the protocol's rule
  (libs/training/src/protocol.ts): min(1, epochs/10).
- Loss: mean softmax cross-entropy, no label smoothing. Test: every epoch, eval mode, all
  test images (or --test-limit), batches of --mini-batch.
- Metrics (libs/training/src/loop.ts): loss and trainAcc are means over the epoch's training
  batches in training mode (each batch weighted by its size, accuracy of the logits before the
  step's update), lr is the epoch's last step's, examplesPerSec = images / seconds where
  seconds is the epoch's training time (data preparation included, testing excluded).

--code seed trains the seed report's code as it printed it (../shared/seed: figures 3-7), on
ResNet-18 and ResNet-34, the depths where that code builds the paper's networks (its 50, 101
and 152 are basic-block stacks):

- Network (tools/torch_resnet.py `seed_resnet`): d2l's Residual, every convolution with a bias,
  the projection shortcut a biased 1x1 convolution without batch norm, the ImageNet stem;
  11,178,378 parameters for ResNet-18 where ours has 11,175,370 (no conv biases, batch norm on
  the projections).
- Init: d2l's train_ch6, Xavier-uniform weights of every Conv2d and Linear, PyTorch's default
  biases and batch norm (ours and --code ours: He-normal, see above).
- Data: transforms.Resize(96) + ToTensor: each 28x28 image resized bilinearly (half-pixel
  centres, as PIL) to 96x96 and rounded to 8 bits, then scaled to 0..1, not normalised; no
  augmentation; a fresh shuffle every epoch, the last batch smaller. torch's resize, not PIL's
  (torchvision is not in Debian's python3-torch): on the first 200 test images 10% of pixels
  differ from PIL 9.4's Image.resize(BILINEAR), by one 8-bit level at most.
- Optimiser and loss: d2l's train_ch6, torch.optim.SGD(lr 0.1) on every parameter (no momentum,
  no weight decay, constant rate), batch 256, mean cross-entropy, 10 epochs; test accuracy in
  eval mode after every epoch. Recorded as our `seed` protocol (train:serve --protocol=seed),
  whose settings these are; the report calls the run "seed's code, PyTorch".

What differs, as far as we know: the random numbers. Initial weights, the shuffles and the
augmentation draws come from torch's generator (seeded by --seed), not from our mulberry32
streams, so the runs start from different weights and see different orders: compare
accuracies, not curves step by step. The arithmetic differs in rounding (oneDNN/tfjs
kernels against PyTorch's).

It writes into --out (which must not exist, or be empty), every file under a temporary name
renamed into place:

    config.json       our run format (libs/training/src/run_config.ts), protocol "default",
                      backend "pytorch" and "reference": {"framework": "pytorch", ...}
    metrics.jsonl     one line per epoch: epoch, loss, trainAcc, testAcc, examplesPerSec, lr, seconds, cpuSeconds
    evaluation.json   the final model's test confusion matrix and per-class accuracy, in
                      train:evaluate --json's format (libs/training/src/evaluation_file.ts)

so that `npx nx run report:serve --runs=<folder with it and our runs> --out=...` shows it beside
ours; and, while the run is unfinished, checkpoint.pt: after every epoch the model, the
optimiser's state, the data generator's state and the epochs' metrics (torch.save), removed
when the run ends. --resume=<dir> (instead of --out) continues an interrupted run from it with the settings
its config.json records (no other training flag is taken): the epochs after it are the ones an
uninterrupted run would have trained, to the bit on the same machine and thread count
(apps/report/src/pytorch_scripts_test.ts), so an interruption costs the unfinished epoch only.
One process at a time trains into a folder (an exclusive lock on it). Progress goes to stderr;
exit code 0 done, 1 bad data or a failed run, 2 bad command line, 130 interrupted (Ctrl-C or
SIGTERM; the finished epochs are kept, and --resume continues).
"""
import argparse
import datetime
import fcntl
import gzip
import json
import math
import os
import platform
import shlex
import signal
import struct
import sys
import time

PROG = "torch_reference"

try:
    import torch
    from torch import nn
except ImportError as e:
    print(f"{PROG}: PyTorch is not importable by {sys.executable} ({e}): apt-get install -y python3-torch "
          f"(Debian), then run this script with /usr/bin/python3", file=sys.stderr)
    sys.exit(1)

from torch_resnet import (  # noqa: E402 (after the torch check)
    LAYERS, SEED_LAYERS, decay_groups, init_like_d2l, init_like_ours, parameter_count, resnet, seed_resnet)

# libs/training/src/pipeline.ts
MEAN = 0.286
STD = 0.353
CROP_PADDING = 4
CLASSES = 10
IMAGE_SIZE = 28
# libs/recipe/src/protocol.ts, PROTOCOLS.default
PROTOCOL = {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4, "warmup": 1, "batch": 128, "epochs": 10, "clip_norm": 2}
# The seed report's train_ch6 call (libs/recipe/src/protocol.ts, PROTOCOLS.seed)
SEED_PROTOCOL = {"lr": 0.1, "batch": 256, "epochs": 10, "image_size": 96}
RUN_FORMAT = "resnet-ts/run@1"
EVALUATION_FORMAT = "resnet-ts/evaluation@1"
CHECKPOINT = "checkpoint.pt"
CHECKPOINT_FORMAT = "torch-reference-checkpoint@1"
SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"
FILES = {"train_images": "train-images-idx3-ubyte.gz", "train_labels": "train-labels-idx1-ubyte.gz",
         "test_images": "t10k-images-idx3-ubyte.gz", "test_labels": "t10k-labels-idx1-ubyte.gz"}
COUNTS = {"train": 60000, "test": 10000}


class Failure(Exception):
    """A problem to report in one line: what, where, how to fix; with its exit code."""

    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


SETTINGS = ("code", "variant", "epochs", "mini_batch", "train_limit", "test_limit", "seed", "clip_norm")


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="tools/torch_reference.py",
        description=__doc__.splitlines()[0],
        epilog="Example: /usr/bin/python3 tools/torch_reference.py --variant 18 --out runs/reference/pytorch-resnet18 "
               "(10 epochs, all images); the seed report's code: --code seed --variant 18 --out runs/reference/seed-code-resnet18. "
               "Continue an interrupted run: --resume runs/reference/pytorch-resnet18. "
               "Smoke test: --epochs 1 --train-limit 256 --test-limit 128.")
    p.add_argument("--code", choices=["ours", "seed"], default=None,
                   help="ours: our network and default protocol (the default); seed: the seed report's own network, init and training, ResNet-18 or 34")
    p.add_argument("--variant", type=int, default=None, choices=sorted(LAYERS), help="ResNet depth (default 18)")
    p.add_argument("--epochs", type=int, default=None, help=f"epochs (default {PROTOCOL['epochs']})")
    p.add_argument("--mini-batch", type=int, default=None, help="examples per step (default 128; 256 with --code seed)")
    p.add_argument("--train-limit", type=int, default=None, help="train on the first N of the 60,000 training images (default: all)")
    p.add_argument("--test-limit", type=int, default=None, help="test on the first N of the 10,000 test images (default: all)")
    p.add_argument("--seed", type=int, default=None, help="seed of the initial weights, shuffles and augmentation (default 0)")
    p.add_argument("--clip-norm", type=float, default=None,
                   help="clip the gradient's global L2 norm to N before each step (torch.nn.utils.clip_grad_norm_), as train:serve --clip-norm; "
                        f"0: no clipping (default: the protocol's, {PROTOCOL['clip_norm']}; none with --code seed)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="PyTorch intra-op threads (default: all cores)")
    p.add_argument("--out", default=None, help="run directory to create (must not exist, or be empty)")
    p.add_argument("--resume", metavar="DIR", default=None,
                   help=f"continue the interrupted run in DIR (instead of --out) from its {CHECKPOINT}, written after every epoch, with "
                        "the settings its config.json records; the training flags above are not taken with it (--threads and --data-dir are)")
    p.add_argument("--data-dir", default=None,
                   help=f"folder with the four Fashion-MNIST .gz files (default: $FASHION_MNIST_DIR, data/fashion-mnist, {SYSTEM_DIR})")
    a = p.parse_args(argv)
    if (a.out is None) == (a.resume is None):
        p.error("give --out=<new run directory> to start a run, or --resume=<run directory> to continue one (one of the two)")
    if a.resume is not None:
        given = [f"--{name.replace('_', '-')}" for name in SETTINGS if getattr(a, name) is not None]
        if given:
            p.error(f"--resume continues the run with the settings its config.json records: drop {', '.join(given)} "
                    f"(to train other settings, start a new run with --out)")
    else:
        a.code = a.code or "ours"
        a.variant = 18 if a.variant is None else a.variant
        a.epochs = PROTOCOL["epochs"] if a.epochs is None else a.epochs
        a.seed = 0 if a.seed is None else a.seed
        problem = check_settings(a)
        if problem:
            p.error(problem)
    if not 1 <= a.threads <= 1024:
        p.error(f"--threads must be an integer from 1 to 1024, got {a.threads}")
    return a


def check_settings(a):
    """Fills the defaults that depend on --code and returns what is wrong with the settings, or None."""
    if a.code == "seed" and a.variant not in SEED_LAYERS:
        return (f"--code seed runs ResNet-{' or '.join(map(str, SEED_LAYERS))}, got --variant {a.variant}: the seed's code builds its "
                f"ResNet-{a.variant} from basic blocks, not the paper's network (use --code ours for the paper's ResNet-{a.variant})")
    if a.mini_batch is None:
        a.mini_batch = SEED_PROTOCOL["batch"] if a.code == "seed" else PROTOCOL["batch"]
    if a.clip_norm is None:
        a.clip_norm = 0 if a.code == "seed" else PROTOCOL["clip_norm"]
    checks = [("--epochs", a.epochs, 1, 10000), ("--mini-batch", a.mini_batch, 1, 65536),
              ("--train-limit", a.train_limit, 1, COUNTS["train"]), ("--test-limit", a.test_limit, 1, COUNTS["test"]),
              ("--seed", a.seed, 0, 2 ** 31 - 1)]
    if not (math.isfinite(a.clip_norm) and a.clip_norm >= 0):
        return f"--clip-norm must be a number ≥ 0 (0: no clipping), got {a.clip_norm}"
    for name, value, low, high in checks:
        if value is not None and not low <= value <= high:
            return f"{name} must be an integer from {low} to {high}, got {value}"
    return None


# ---- data -------------------------------------------------------------------------------

def find_data_dir(given):
    """The folder with the four files, in our order (libs/fashion-mnist/src/locate.ts), without downloading."""
    def missing(d):
        return [f for f in FILES.values() if not os.path.isfile(os.path.join(d, f))]

    for label, d in (("--data-dir", given), ("FASHION_MNIST_DIR", os.environ.get("FASHION_MNIST_DIR") or None)):
        if d is None:
            continue
        gone = missing(d)
        if gone:
            what = f"lacks {', '.join(gone)}" if os.path.isdir(d) else "does not exist"
            raise Failure(f"the folder given by {label} ({d}) {what}: put the four Fashion-MNIST .gz files there, or drop {label}")
        return os.path.abspath(d)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for d in (os.path.join(root, "data", "fashion-mnist"), SYSTEM_DIR):
        if not missing(d):
            return d
    raise Failure(f"Fashion-MNIST not found in {os.path.join(root, 'data', 'fashion-mnist')} or {SYSTEM_DIR}: "
                  f"apt-get install -y dataset-fashion-mnist, or pass --data-dir=<folder with {', '.join(FILES.values())}>")


def read_idx(path, magic, count, shape):
    """An IDX file's payload as a uint8 tensor [count, *shape], its header and length checked."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise Failure(f"{path}: cannot be read as gzip ({e}): the file is damaged; reinstall dataset-fashion-mnist or replace it")
    dims = len(shape) + 1
    header = 4 + 4 * dims
    if len(raw) < header:
        raise Failure(f"{path}: truncated ({len(raw)} bytes, no IDX header): replace the file")
    got_magic, *got = struct.unpack(f">{dims + 1}I", raw[:header])
    expected = [count, *shape]
    if got_magic != magic or got != expected:
        raise Failure(f"{path}: IDX header says magic {got_magic}, shape {got}; expected {magic}, {expected}: not the official file")
    size = math.prod(expected)
    if len(raw) != header + size:
        raise Failure(f"{path}: {len(raw) - header} data bytes, expected {size}: the file is truncated or damaged; replace it")
    return torch.frombuffer(bytearray(raw[header:]), dtype=torch.uint8).reshape(expected)


def load_split(data_dir, name, limit):
    prefix = "train" if name == "train" else "test"
    images = read_idx(os.path.join(data_dir, FILES[f"{prefix}_images"]), 2051, COUNTS[name], [IMAGE_SIZE, IMAGE_SIZE])
    labels = read_idx(os.path.join(data_dir, FILES[f"{prefix}_labels"]), 2049, COUNTS[name], []).long()
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images, labels


def seed_batch(images, labels, indices):
    """The seed's transforms.Resize(96) + ToTensor: float32 [B, 1, 96, 96] in 0..1 (bilinear, half-pixel centres, rounded to 8 bits as PIL stores it)."""
    x = images[indices].float().unsqueeze(1)
    x = nn.functional.interpolate(x, size=(SEED_PROTOCOL["image_size"],) * 2, mode="bilinear", align_corners=False)
    return x.round().clamp(0, 255) / 255, labels[indices]


def make_batch(images, labels, indices, augment, generator):
    """Normalised float32 images [B, 1, 28, 28] and labels [B]: crop (4-pixel black padding) then flip on the grey bytes, as ours."""
    x = images[indices]
    if augment:
        n = x.shape[0]
        padded = torch.zeros((n, IMAGE_SIZE + 2 * CROP_PADDING, IMAGE_SIZE + 2 * CROP_PADDING), dtype=torch.uint8)
        padded[:, CROP_PADDING:CROP_PADDING + IMAGE_SIZE, CROP_PADDING:CROP_PADDING + IMAGE_SIZE] = x
        # Window offsets 0..8 in the padded image = shifts -4..4 of the original, uniform.
        oy = torch.randint(0, 2 * CROP_PADDING + 1, (n,), generator=generator)
        ox = torch.randint(0, 2 * CROP_PADDING + 1, (n,), generator=generator)
        flip = torch.rand(n, generator=generator) < 0.5
        span = torch.arange(IMAGE_SIZE)
        rows = (oy[:, None] + span)[:, :, None]
        cols = (ox[:, None] + span)[:, None, :]
        x = padded[torch.arange(n)[:, None, None], rows, cols]
        x = torch.where(flip[:, None, None], x.flip(2), x)
    x = (x.float() / 255 - MEAN) / STD
    return x.unsqueeze(1), labels[indices]


# ---- schedule ---------------------------------------------------------------------------

def learning_rate(lr, warmup_epochs, epoch, step, steps_per_epoch, total_epochs):
    """libs/training/src/schedule.ts learningRate for a Cosine schedule with floor 0, line by line."""
    steps_per_epoch = max(1, steps_per_epoch)
    last = max(1, total_epochs) * steps_per_epoch - 1
    t = min(epoch * steps_per_epoch + step, last)
    warmup = min(math.floor(warmup_epochs * steps_per_epoch), last)
    if t < warmup:
        return lr * ((t + 1) / warmup)
    if t >= last:
        return 0.0
    done = (t - warmup) / (last - warmup)
    return max(0.0, lr - (lr * (1 - math.cos(math.pi * done))) / 2)


# ---- files ------------------------------------------------------------------------------

def replace_atomic(path, write):
    """write(tmp) under a temporary name, renamed into place: the file is the old one or the new one, never half of
    either; the temporary is removed if writing fails or is interrupted."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_atomic(path, text):
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    replace_atomic(path, write)


def save_atomic(path, state):
    replace_atomic(path, lambda tmp: torch.save(state, tmp))


def check_out(out):
    if os.path.exists(out):
        if not os.path.isdir(out):
            raise Failure(f"--out={out} is a file: choose a new directory", 2)
        if os.listdir(out):
            unfinished = os.path.isfile(os.path.join(out, CHECKPOINT))
            raise Failure(f"--out={out} exists and is not empty: choose a new --out, or remove {out} first"
                          + (f" (it holds an unfinished run of this script: continue it with --resume={out})" if unfinished else ""), 2)


def lock_dir(out):
    """An exclusive lock on the run's folder, held until this process ends (the kernel releases it however it ends)."""
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise Failure(f"another process is training into {out} (it holds the folder's lock): wait for it to end, or stop it "
                      f"(Ctrl-C or kill keeps its finished epochs), then continue with --resume={out}")
    return fd


def open_resume(a):
    """Locks the run in --resume and returns its config and checkpoint, its settings copied into `a`; or a Failure saying why not."""
    out = a.resume
    if not os.path.isdir(out):
        raise Failure(f"--resume={out}: no such folder: give the run directory to continue", 2)
    lock = lock_dir(out)
    config_path = os.path.join(out, "config.json")
    if not os.path.isfile(config_path):
        raise Failure(f"--resume={out}: it has no config.json, so it is not a run directory: start a new run with --out", 2)
    try:
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
        reference = config.get("reference")
    except (OSError, ValueError, AttributeError) as e:
        raise Failure(f"--resume={out}: {config_path} cannot be read as a run's config ({e}): start the run again with a new --out")
    if not isinstance(reference, dict) or reference.get("script") != "tools/torch_reference.py":
        raise Failure(f"--resume={out}: not a run of this script (its config.json names no tools/torch_reference.py reference); "
                      f"continue our own runs with npx nx run train:serve --resume={out}", 2)
    path = os.path.join(out, CHECKPOINT)
    if not os.path.isfile(path):
        if os.path.isfile(os.path.join(out, "evaluation.json")):
            raise Failure(f"--resume={out}: the run is finished (evaluation.json written): nothing to continue", 2)
        raise Failure(f"--resume={out}: it has no {CHECKPOINT}: the run stopped before its first epoch ended; start it again: "
                      f"remove {out}, then run {config.get('command')}")
    try:
        checkpoint = torch.load(path, map_location="cpu")
        ok = isinstance(checkpoint, dict) and checkpoint.get("format") == CHECKPOINT_FORMAT
    except Exception as e:  # torch.load raises what the unpickler or the zip reader meets
        raise Failure(f"--resume={out}: {path} cannot be read ({type(e).__name__}: {e}): the file is damaged; remove {out} and start again")
    if not ok:
        raise Failure(f"--resume={out}: {path} is not a checkpoint of this script ({CHECKPOINT_FORMAT}); remove {out} and start again")
    try:
        a.code = reference["code"]
        a.variant, a.epochs, a.mini_batch, a.seed = config["variant"], config["epochs"], config["batchSize"], config["seed"]
        a.train_limit, a.test_limit, a.clip_norm = config["trainLimit"], config["testLimit"], config["clipNorm"] or 0
    except KeyError as e:
        raise Failure(f"--resume={out}: config.json lacks {e}: it was not written by this script; start the run again with a new --out")
    problem = check_settings(a) if a.code in ("ours", "seed") and a.variant in LAYERS else f"code {a.code!r}, variant {a.variant!r}"
    if problem:
        raise Failure(f"--resume={out}: config.json records settings this script does not train ({problem}); start the run again with a new --out")
    return config, checkpoint, lock


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib():
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30)
    except (ValueError, OSError):
        return 0


def node_platform():
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64"}.get(platform.machine().lower(), platform.machine().lower())
    return f"{sys.platform}-{arch}"


def config_json(a, data_dir, warmup_epochs, parameters, command):
    """config.json as libs/run-dir/src/config.ts parseRunConfig reads it, marked as a reference."""
    device = f"cpu ({torch.get_num_threads()} threads, torch {torch.__version__})"
    if a.code == "seed":
        recipe = {
            "protocol": "seed", "version": "v1", "schedule": {"_tag": "Constant", "lr": SEED_PROTOCOL["lr"]},
            "momentum": 0, "nesterov": False, "weightDecay": 0, "imageSize": SEED_PROTOCOL["image_size"],
            "augment": {"crop": False, "flip": False}, "zeroInitResidual": False}
    else:
        recipe = {
            "protocol": "default", "version": "v1.5", "schedule": {"_tag": "Cosine", "lr": PROTOCOL["lr"], "warmupEpochs": warmup_epochs, "floor": 0},
            "momentum": PROTOCOL["momentum"], "nesterov": PROTOCOL["nesterov"], "weightDecay": PROTOCOL["weight_decay"],
            "imageSize": IMAGE_SIZE, "augment": {"crop": True, "flip": True}, "zeroInitResidual": True}
    return {
        "format": RUN_FORMAT, "protocol": recipe["protocol"], "variant": a.variant, "version": recipe["version"], "stem": "imagenet",
        "epochs": a.epochs, "batchSize": a.mini_batch, "schedule": recipe["schedule"],
        "momentum": recipe["momentum"], "nesterov": recipe["nesterov"], "weightDecay": recipe["weightDecay"],
        "labelSmoothing": 0, "clipNorm": a.clip_norm or None, "imageSize": recipe["imageSize"], "augment": recipe["augment"],
        "zeroInitResidual": recipe["zeroInitResidual"],
        "trainLimit": a.train_limit, "testLimit": a.test_limit, "seed": a.seed, "classes": CLASSES,
        "createdAt": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "backend": {"name": "pytorch", "device": device},
        "machine": {"cpus": os.cpu_count() or 1, "cpuModel": cpu_model(), "memoryGiB": memory_gib(), "platform": node_platform()},
        "dataSource": data_dir,
        "command": command,
        "reference": {"framework": "pytorch", "version": torch.__version__, "script": "tools/torch_reference.py", "code": a.code,
                      "parameters": parameters},
    }


def evaluation_json(config, epoch, confusion, command):
    """evaluation.json as libs/training/src/evaluation_file.ts reads it (train:evaluate --json writes the same)."""
    rows = confusion.tolist()
    correct = sum(rows[i][i] for i in range(CLASSES))
    total = sum(map(sum, rows))
    return {
        "format": EVALUATION_FORMAT,
        "run": {"variant": config["variant"], "createdAt": config["createdAt"]},
        "weights": {"_tag": "Final", "epoch": epoch},
        "testImages": total, "correct": correct, "accuracy": correct / total,
        "perClassAccuracy": [rows[i][i] / sum(rows[i]) if sum(rows[i]) > 0 else None for i in range(CLASSES)],
        "confusion": rows,
        "command": command,
    }


def evaluation_text(evaluation):
    """One top-level field per line, values compact, as our writer lays it out."""
    fields = [f"  {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in evaluation.items()]
    return "{\n" + ",\n".join(fields) + "\n}\n"


# ---- training ---------------------------------------------------------------------------

def evaluate(model, images, labels, batch_size, batch):
    """Accuracy and confusion[true][predicted] in eval mode; `batch(images, labels, indices)` makes the inputs."""
    model.eval()
    confusion = torch.zeros(CLASSES * CLASSES, dtype=torch.long)
    with torch.no_grad():
        for start in range(0, images.shape[0], batch_size):
            idx = torch.arange(start, min(start + batch_size, images.shape[0]))
            x, y = batch(images, labels, idx)
            predicted = model(x).argmax(1)
            confusion += torch.bincount(y * CLASSES + predicted, minlength=CLASSES * CLASSES)
    model.train()
    confusion = confusion.reshape(CLASSES, CLASSES)
    return confusion.trace().item() / images.shape[0], confusion


def progress(line, final=False):
    if sys.stderr.isatty():
        sys.stderr.write(f"\r{line}\x1b[K" + ("\n" if final else ""))
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


def train(a, out, data_dir, command, resumed=None):
    """Trains the run in `out`: a new one, or with `resumed` = (config, checkpoint) the interrupted one, from its checkpoint."""
    train_images, train_labels = load_split(data_dir, "train", a.train_limit)
    test_images, test_labels = load_split(data_dir, "test", a.test_limit)
    torch.set_num_threads(a.threads)
    warmup_epochs = min(PROTOCOL["warmup"], a.epochs / 10)
    seed_code = a.code == "seed"

    torch.manual_seed(a.seed)
    if seed_code:
        model = init_like_d2l(seed_resnet(a.variant, classes=CLASSES)).train()
        optimizer = torch.optim.SGD(model.parameters(), lr=SEED_PROTOCOL["lr"])
    else:
        model = init_like_ours(resnet(a.variant, in_channels=1, classes=CLASSES), zero_init_residual=True).train()
        optimizer = torch.optim.SGD(decay_groups(model, PROTOCOL["weight_decay"]), lr=PROTOCOL["lr"],
                                    momentum=PROTOCOL["momentum"], dampening=0, nesterov=PROTOCOL["nesterov"])
    loss_fn = nn.CrossEntropyLoss()
    data_rng = torch.Generator().manual_seed(a.seed + 1)
    metrics_path = os.path.join(out, "metrics.jsonl")
    checkpoint_path = os.path.join(out, CHECKPOINT)
    lines, confusion, start = [], None, 0
    if resumed is None:
        config = config_json(a, data_dir, warmup_epochs, parameter_count(model), command)
        os.makedirs(out, exist_ok=True)
        lock = lock_dir(out)  # noqa: F841 (held while the process lives)
        check_out(out)  # still empty now that it is ours
        write_atomic(os.path.join(out, "config.json"), json.dumps(config, indent=2) + "\n")
    else:
        config, checkpoint = resumed
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        data_rng.set_state(checkpoint["data_rng"])
        lines, confusion, start = list(checkpoint["metrics"]), checkpoint["confusion"], checkpoint["epoch"]
        if len(lines) != start or not 1 <= start <= a.epochs:
            raise Failure(f"{checkpoint_path} holds {len(lines)} epochs' metrics after epoch {start} of {a.epochs}: it is damaged; "
                          f"remove {out} and start again")
        # The checkpoint is written before metrics.jsonl: a stop between the two leaves metrics.jsonl an epoch short.
        write_atomic(metrics_path, "".join(f"{line}\n" for line in lines))
    n = train_images.shape[0]
    steps = math.ceil(n / a.mini_batch)
    what = (f"The seed report's code in PyTorch: its ResNet-{a.variant} ({config['reference']['parameters']:,} parameters), d2l's init, "
            f"protocol seed ({SEED_PROTOCOL['image_size']}x{SEED_PROTOCOL['image_size']}, plain SGD lr {SEED_PROTOCOL['lr']})" if seed_code else
            f"PyTorch reference: ResNet-{a.variant} v1.5 (imagenet stem), protocol default")
    print(f"{what}: {a.epochs} epochs, batch {a.mini_batch}, "
          f"{n} train / {test_images.shape[0]} test images, {config['backend']['device']}, data {data_dir} -> {out}", file=sys.stderr)
    if start > 0:
        print(f"resuming after epoch {start} of {a.epochs} from {checkpoint_path}", file=sys.stderr)
    test_batch = seed_batch if seed_code else (lambda images, labels, idx: make_batch(images, labels, idx, False, None))
    test_acc = json.loads(lines[-1])["testAcc"] if lines else None
    for epoch in range(start, a.epochs):
        order = torch.randperm(n, generator=data_rng)
        began = time.perf_counter()
        cpu_began = time.process_time()  # the process's CPU time, every thread (as train:serve's cpuSeconds)
        last_report = began
        loss_sum, correct, seen, lr = 0.0, 0, 0, 0.0
        for step in range(steps):
            idx = order[step * a.mini_batch:(step + 1) * a.mini_batch]
            lr = SEED_PROTOCOL["lr"] if seed_code else learning_rate(PROTOCOL["lr"], warmup_epochs, epoch, step, steps, a.epochs)
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = seed_batch(train_images, train_labels, idx) if seed_code else make_batch(train_images, train_labels, idx, True, data_rng)
            logits = model(x)
            loss = loss_fn(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if a.clip_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip_norm)
            optimizer.step()
            value = loss.item()
            if not math.isfinite(value):
                raise Failure(f"the training loss became {value} in epoch {epoch + 1} at step {step + 1}; stopped ({out} holds the epochs before)")
            loss_sum += value * len(idx)
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(idx)
            now = time.perf_counter()
            if now - last_report >= 5 or step == steps - 1:
                last_report = now
                elapsed = now - began
                eta = elapsed / (step + 1) * (steps - step - 1)
                progress(f"epoch {epoch + 1} {step + 1}/{steps} loss {loss_sum / seen:.4f} acc {correct / seen:.3f} "
                         f"{seen / elapsed:.1f} ex/s lr {lr:.4f} ETA {eta:.0f}s", final=step == steps - 1)
        seconds = time.perf_counter() - began
        cpu_seconds = time.process_time() - cpu_began
        test_acc, confusion = evaluate(model, test_images, test_labels, a.mini_batch, test_batch)
        metrics = {"epoch": epoch + 1, "loss": loss_sum / seen, "trainAcc": correct / seen, "testAcc": test_acc,
                   "examplesPerSec": seen / seconds, "lr": lr, "seconds": seconds, "cpuSeconds": cpu_seconds}
        lines.append(json.dumps(metrics, separators=(",", ":")))
        save_atomic(checkpoint_path, {"format": CHECKPOINT_FORMAT, "epoch": epoch + 1, "model": model.state_dict(),
                                      "optimizer": optimizer.state_dict(), "data_rng": data_rng.get_state(), "metrics": lines,
                                      "confusion": confusion})
        write_atomic(metrics_path, "".join(f"{line}\n" for line in lines))
        print(f"epoch {epoch + 1}/{a.epochs}: loss {metrics['loss']:.4f}, train acc {metrics['trainAcc']:.3f}, test acc {test_acc:.4f}, "
              f"{metrics['examplesPerSec']:.1f} examples/sec, lr {lr:.4f}, {seconds:.1f} s", file=sys.stderr)
    # The run's own command (a resumed run's evaluation.json is the uninterrupted run's).
    write_atomic(os.path.join(out, "evaluation.json"), evaluation_text(evaluation_json(config, a.epochs, confusion, config["command"])))
    os.remove(checkpoint_path)
    print(f"run directory: {out} (config.json, metrics.jsonl, evaluation.json); final test acc {test_acc:.4f}", file=sys.stderr)


def stop(signum, _frame):
    """SIGTERM (a kill, a session's end) stops the run as Ctrl-C does: the finished epochs and their checkpoint stay."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv):
    a = parse_args(argv)
    command = shlex.join(["/usr/bin/python3" if sys.executable == "/usr/bin/python3" else sys.executable, sys.argv[0], *argv])
    out = a.resume or a.out
    signal.signal(signal.SIGTERM, stop)
    try:
        if a.resume is not None:
            config, checkpoint, lock = open_resume(a)  # noqa: F841 (the lock is held while the process lives)
            resumed = (config, checkpoint)
        else:
            check_out(out)
            resumed = None
        data_dir = find_data_dir(a.data_dir)
        train(a, out, data_dir, command, resumed)
    except Failure as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        if os.path.isfile(os.path.join(out, CHECKPOINT)):
            print(f"\n{PROG}: interrupted; {out} keeps the epochs finished so far and their checkpoint: continue with "
                  f"/usr/bin/python3 tools/torch_reference.py --resume={out}", file=sys.stderr)
        else:
            print(f"\n{PROG}: interrupted before a first epoch was saved: nothing to continue; start again with a new --out "
                  f"(or remove {out})", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
