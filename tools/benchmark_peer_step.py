"""Time our SS-GAN training step against Mimicry's, interleaved in one run.

Each framework runs in its own worker process (TensorFlow and PyTorch never
share a process or a thread pool), both pinned to the same number of
threads. The coordinator warms both up, then asks them for rounds in turn
(ours, Mimicry, ours, ...), so that load on a shared machine hits both alike,
and reports per-round medians and the ratio of ours to Mimicry's per round.

One step is what each library's own training loop does per generator step
with `n_dis = 1`, at the same widths and batch size:

- ours: one `SSGAN` train step (the function `model.fit` calls), i.e. one D
  update and one G update, compiled as `--jit` says (`auto`: Keras' default,
  which is no XLA on CPU; `xla`: `jit_compile=True`);
- Mimicry: `SSGANGenerator32.train_step` then
  `SSGANDiscriminator32.train_step`, with its own Adam optimizers.

The work each side does per step is written into the JSON (`work`): image
counts per D and G pass, and what Mimicry computes that we do not (the D
weight gradients during the G update, and an autograd graph for the detached
fakes of the D update).

Mimicry (`pip install --no-deps torch-mimicry==0.1.16`, plus torch) imports
TensorFlow 1 APIs and torchvision from its package `__init__`; the worker
imports only `torch_mimicry.nets.ssgan` and `torch_mimicry.modules` by
registering empty parent packages, and passes a minimal metric log (the
only thing its `train_step` needs from `torch_mimicry.training`).

    nice -n 10 .venv/bin/python tools/benchmark_peer_step.py \
        --widths 256:128 64:64 --jit auto xla --rounds 6 --steps 3 \
        --out tools/results/peer_step.json
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tools._workers import WorkerProcess  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--widths",
        nargs="+",
        default=["256:128", "64:64"],
        help="G:D widths (ngf:ndf); compare_gan / Mimicry CIFAR use 256:128",
    )
    parser.add_argument("--jit", nargs="+", default=["auto", "xla"])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2, help="steps per worker")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--steps", type=int, default=3, help="steps per round")
    parser.add_argument("--out", default=None, help="JSON results file")
    parser.add_argument(
        "--worker", choices=["keras", "mimicry"], help=argparse.SUPPRESS
    )
    parser.add_argument("--g-width", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--d-width", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--jit-mode", default="auto", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ----------------------------------------------------------------- workers


def _keras_worker(args):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    import keras

    from keras_ssl.methods.ssgan import build_ssgan

    model = build_ssgan(
        32, g_width=args.g_width, d_width=args.d_width, loss="hinge", seed=0
    )
    jit = {"auto": "auto", "xla": True, "none": False}[args.jit_mode]
    model.compile(
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.0, beta_2=0.9),
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.0, beta_2=0.9),
        jit_compile=jit,
    )
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (args.batch_size, 32, 32, 3)).astype("float32")
    first = time.perf_counter()
    model.train_on_batch(images)
    first = time.perf_counter() - first

    def step():
        logs = model.train_on_batch(images, return_dict=True)
        return float(logs["d_loss"]) if "d_loss" in logs else 0.0

    info = {
        "first_step_seconds": first,
        "jit_compile": str(model.jit_compile),
        "g_params": int(model.generator.count_params()),
        "d_params": int(model.discriminator.count_params()),
    }
    return step, info


def _mimicry_worker(args):
    import importlib.util
    import types

    import torch

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(args.threads)
    spec = importlib.util.find_spec("torch_mimicry")
    if spec is None:
        raise SystemExit(
            "torch_mimicry is not installed: pip install --no-deps "
            "torch-mimicry==0.1.16"
        )
    root = os.path.dirname(spec.origin)
    for name, path in (("torch_mimicry", root), ("torch_mimicry.nets", "nets")):
        package = types.ModuleType(name)
        package.__path__ = [os.path.join(root, path) if path != root else root]
        sys.modules[name] = package
    from torch_mimicry.nets.ssgan import ssgan_32

    class MetricLog:
        def add_metric(self, *args, **kwargs):
            pass

    torch.manual_seed(0)
    net_g = ssgan_32.SSGANGenerator32(ngf=args.g_width, loss_type="hinge")
    net_d = ssgan_32.SSGANDiscriminator32(ndf=args.d_width, loss_type="hinge")
    opt_g = torch.optim.Adam(net_g.parameters(), 2e-4, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(net_d.parameters(), 2e-4, betas=(0.0, 0.9))
    images = torch.rand(args.batch_size, 3, 32, 32) * 2 - 1
    batch = (images, torch.zeros(args.batch_size, dtype=torch.long))
    log = MetricLog()
    device = torch.device("cpu")
    counter = [0]

    def step():
        # Mimicry's Trainer: G's step first (when n_dis divides the step),
        # then D's, each with its own optimizer.
        net_g.train_step(
            batch, net_d, opt_g, log, device=device, global_step=counter[0]
        )
        net_d.train_step(
            batch, net_g, opt_d, log, device=device, global_step=counter[0]
        )
        counter[0] += 1
        return 0.0

    first = time.perf_counter()
    step()
    first = time.perf_counter() - first
    info = {
        "first_step_seconds": first,
        "torch": torch.__version__,
        "g_params": sum(p.numel() for p in net_g.parameters() if p.requires_grad),
        "d_params": sum(p.numel() for p in net_d.parameters() if p.requires_grad),
    }
    return step, info


def run_worker(args):
    make = _keras_worker if args.worker == "keras" else _mimicry_worker
    step, info = make(args)
    for _ in range(max(args.warmup - 1, 0)):
        step()
    print(json.dumps({"ready": True, **info}), flush=True)
    for line in sys.stdin:
        count = int(line.strip() or 0)
        if count <= 0:
            break
        seconds = []
        for _ in range(count):
            start = time.perf_counter()
            step()
            seconds.append(time.perf_counter() - start)
        print(json.dumps({"seconds": seconds}), flush=True)


# -------------------------------------------------------------- coordinator


def start_worker(kind, g_width, d_width, jit_mode, args):
    """A `WorkerProcess` timing `kind` ("keras" or "mimicry") steps."""
    arguments = [
        "--worker",
        kind,
        "--g-width",
        str(g_width),
        "--d-width",
        str(d_width),
        "--jit-mode",
        jit_mode,
        "--batch-size",
        str(args.batch_size),
        "--threads",
        str(args.threads),
        "--warmup",
        str(args.warmup),
    ]
    env = {
        "OMP_NUM_THREADS": str(args.threads),
        "MKL_NUM_THREADS": str(args.threads),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    name = f"{kind}-{jit_mode}" if kind == "keras" else kind
    return WorkerProcess(name, __file__, arguments, env)


WORK = {
    "ours": {
        "d_update": "G forward on B noise; one D forward on B real + B fake + B "
        "rotated real (compare_gan: the last quarter in 4 rotations); "
        "gradients for D's weights only",
        "g_update": "G forward on B noise; D forward on B fake + B rotated fake; "
        "gradients for G's weights only",
    },
    "mimicry": {
        "d_update": "G forward on B noise (autograd graph built, then detached); "
        "D forwards on B real, B fake and B rotated real (each quarter one "
        "angle); gradients for D's weights",
        "g_update": "G forward on B noise; D forwards on B fake and B rotated "
        "fake; gradients for G's weights AND D's weights (D's are computed "
        "and discarded by the next zero_grad)",
    },
    "images_per_step": "both: 2B through G, 5B through D forward and backward",
}


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return run_worker(args)
    results = {
        "benchmark": "peer_step",
        "command": "python tools/benchmark_peer_step.py "
        + " ".join(argv or sys.argv[1:]),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "threads": args.threads,
        "batch_size": args.batch_size,
        "rounds": args.rounds,
        "steps_per_round": args.steps,
        "work": WORK,
        "settings": [],
    }
    for widths in args.widths:
        g_width, d_width = (int(v) for v in widths.split(":"))
        workers = [start_worker("mimicry", g_width, d_width, "auto", args)]
        workers += [
            start_worker("keras", g_width, d_width, jit, args) for jit in args.jit
        ]
        per_round = {w.name: [] for w in workers}
        try:
            for _ in range(args.rounds):
                for worker in workers:
                    per_round[worker.name].append(
                        statistics.median(worker.round(args.steps)["seconds"])
                    )
        finally:
            for worker in workers:
                worker.close()
        setting = {
            "g_width": g_width,
            "d_width": d_width,
            "workers": {w.name: w.info for w in workers},
            "median_step_seconds": {
                name: statistics.median(v) for name, v in per_round.items()
            },
            "round_medians": per_round,
            "ratio_to_mimicry": {},
        }
        for name, values in per_round.items():
            if name == "mimicry":
                continue
            ratios = [a / b for a, b in zip(values, per_round["mimicry"])]
            setting["ratio_to_mimicry"][name] = {
                "median": statistics.median(ratios),
                "min": min(ratios),
                "max": max(ratios),
            }
        results["settings"].append(setting)
        print(json.dumps(setting["ratio_to_mimicry"]), flush=True)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as file:
            json.dump(results, file, indent=2)
    return results


if __name__ == "__main__":
    main()
