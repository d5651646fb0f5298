"""Time the same training step on TensorFlow and on JAX (CPU), interleaved.

Each backend runs in its own worker process (`KERAS_BACKEND` is fixed per
process). The coordinator builds the same model in both (same builder, same
widths, same batch), warms them up, then asks them for rounds in turn (TF,
JAX, TF, ...) so that load on a shared machine hits both alike. It reports
per-round medians of the wall time and of the process CPU time per step, the
ratio JAX / TF per round (below 1: JAX is faster) and each backend's first
step (tracing + compilation + one step).

A step is one `model.train_on_batch` call, i.e. what `model.fit` runs per
batch, with each backend's default compilation: TensorFlow's `"auto"` (a
`tf.function` graph without XLA on CPU) and JAX's (`jax.jit`, XLA).
`--tf-xla` adds a third worker, TensorFlow with `jit_compile=True`, which
compiles with XLA as JAX does: it separates what XLA's CPU kernels cost
from what the JAX step itself costs.
`train_on_batch` on JAX also writes the state back to the model's variables
after every step, which `fit` does only once per epoch; that overhead is
included.

Models: `ssgan` (one D and one G update of `build_ssgan`, non-saturating
loss, compare_gan's rotation scheme), `rotnet` (`build_rotnet` with a
NIN encoder: four rotations of every image) and `conv` (one 3x3
convolution, 64 to 64 channels at 32x32, with a squared-error loss: the
kernel that dominates both models, alone). `--jax-xla-flags` passes
`XLA_FLAGS` to the JAX worker, to try XLA's CPU options.

    nice -n 10 .venv/bin/python tools/benchmark_jax_step.py \\
        --models ssgan rotnet --rounds 5 --steps 3 \\
        --out tools/results/jax_step.json
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

BACKENDS = ("tensorflow", "jax")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["ssgan", "rotnet"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--width", type=int, default=32, help="SS-GAN: D width (G = 2x)"
    )
    parser.add_argument("--rotnet-width", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=2, help="steps per worker")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3, help="steps per round")
    parser.add_argument(
        "--tf-xla",
        action="store_true",
        help="also time TensorFlow with jit_compile=True (XLA, as JAX uses)",
    )
    parser.add_argument(
        "--jax-xla-flags", default="", help="XLA_FLAGS of the JAX worker"
    )
    parser.add_argument("--out", default=None, help="JSON results file")
    parser.add_argument("--worker", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--xla", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ----------------------------------------------------------------- workers


def _build(args):
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (args.batch_size, 32, 32, 3)).astype("float32")
    if args.model == "ssgan":
        from keras_ssl.methods.ssgan import build_ssgan

        model = build_ssgan(32, width=args.width, seed=0)
        model.compile(jit_compile=True if args.xla else "auto")
        info = {
            "g_params": int(model.generator.count_params()),
            "d_params": int(model.discriminator.count_params()),
        }
    elif args.model == "rotnet":
        from keras_ssl.methods.rotnet import build_rotnet

        model = build_rotnet(
            32, encoder_config={"width": args.rotnet_width, "num_blocks": 3}
        )
        model.compile(jit_compile=True if args.xla else "auto")
        info = {"params": int(model.count_params())}
    elif args.model == "conv":
        model = keras.Sequential(
            [keras.Input((32, 32, 64)), keras.layers.Conv2D(64, 3, padding="same")]
        )
        model.compile(
            optimizer=keras.optimizers.SGD(1e-3),
            loss="mse",
            jit_compile=True if args.xla else "auto",
        )
        images = rng.normal(size=(args.batch_size, 32, 32, 64)).astype("float32")
        images = (images, images)
        info = {"params": int(model.count_params())}
    else:
        raise SystemExit(f"unknown model {args.model!r}")
    info.update(
        backend=keras.backend.backend(),
        keras=keras.__version__,
        jit_compile=str(model.jit_compile),
    )
    if keras.backend.backend() == "jax":
        import jax

        info["jax"] = jax.__version__
    else:
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
    return model, images, info


def run_worker(args):
    model, images, info = _build(args)

    inputs = images if isinstance(images, tuple) else (images,)

    def step():
        logs = model.train_on_batch(*inputs, return_dict=True)
        return {k: float(v) for k, v in logs.items()}

    wall, cpu = time.perf_counter(), time.process_time()
    logs = step()
    info["first_step_seconds"] = time.perf_counter() - wall
    info["first_step_cpu_seconds"] = time.process_time() - cpu
    info["first_logs"] = logs
    for _ in range(max(args.warmup - 1, 0)):
        step()
    print(json.dumps({"ready": True, **info}), flush=True)
    for line in sys.stdin:
        count = int(line.strip() or 0)
        if count <= 0:
            break
        seconds, cpu_seconds = [], []
        for _ in range(count):
            wall, cpu = time.perf_counter(), time.process_time()
            step()
            seconds.append(time.perf_counter() - wall)
            cpu_seconds.append(time.process_time() - cpu)
        print(json.dumps({"seconds": seconds, "cpu": cpu_seconds}), flush=True)


# -------------------------------------------------------------- coordinator


def start_worker(backend, model, args, xla=False):
    """A `WorkerProcess` timing `model` on `backend` (TF with XLA if `xla`)."""
    arguments = [
        "--worker",
        backend,
        "--model",
        model,
        "--batch-size",
        str(args.batch_size),
        "--width",
        str(args.width),
        "--rotnet-width",
        str(args.rotnet_width),
        "--warmup",
        str(args.warmup),
    ] + (["--xla"] if xla else [])
    env = {
        "KERAS_BACKEND": backend,
        "JAX_PLATFORMS": "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    if backend == "jax" and args.jax_xla_flags:
        env["XLA_FLAGS"] = args.jax_xla_flags
    name = f"{backend}-xla" if xla else backend
    return WorkerProcess(name, __file__, arguments, env)


def _ratio(jax_values, tf_values):
    ratios = [a / b for a, b in zip(jax_values, tf_values, strict=True)]
    return {
        "median": statistics.median(ratios),
        "min": min(ratios),
        "max": max(ratios),
    }


def benchmark_model(model, args):
    workers = []
    try:
        for backend in BACKENDS:
            workers.append(start_worker(backend, model, args))
        if args.tf_xla:
            workers.append(start_worker("tensorflow", model, args, xla=True))
        wall = {w.name: [] for w in workers}
        cpu = {w.name: [] for w in workers}
        for _ in range(args.rounds):
            for worker in workers:
                result = worker.round(args.steps)
                wall[worker.name].append(statistics.median(result["seconds"]))
                cpu[worker.name].append(statistics.median(result["cpu"]))
    finally:
        for worker in workers:
            worker.close()
    result = {
        "model": model,
        "workers": {w.name: w.info for w in workers},
        "median_step_seconds": {k: statistics.median(v) for k, v in wall.items()},
        "median_step_cpu_seconds": {k: statistics.median(v) for k, v in cpu.items()},
        "round_medians_seconds": wall,
        "round_medians_cpu_seconds": cpu,
        "jax_over_tf_wall": _ratio(wall["jax"], wall["tensorflow"]),
        "jax_over_tf_cpu": _ratio(cpu["jax"], cpu["tensorflow"]),
        "first_step_seconds": {w.name: w.info["first_step_seconds"] for w in workers},
    }
    if args.tf_xla:
        result["jax_over_tf_xla_wall"] = _ratio(wall["jax"], wall["tensorflow-xla"])
        result["jax_over_tf_xla_cpu"] = _ratio(cpu["jax"], cpu["tensorflow-xla"])
    return result


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return run_worker(args)
    results = {
        "benchmark": "jax_step",
        "command": "python tools/benchmark_jax_step.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "note": "a shared machine: other jobs ran during the measurement; "
            "the rounds are interleaved so that load hits both backends alike, "
            "and the CPU-time columns are less sensitive to it than wall time",
        },
        "batch_size": args.batch_size,
        "ssgan_width": {"d": args.width, "g": 2 * args.width},
        "rotnet_encoder": {"name": "nin", "width": args.rotnet_width, "blocks": 3},
        "jax_xla_flags": args.jax_xla_flags,
        "rounds": args.rounds,
        "steps_per_round": args.steps,
        "models": [],
    }
    for model in args.models:
        result = benchmark_model(model, args)
        results["models"].append(result)
        print(
            json.dumps(
                {
                    key: value
                    for key, value in result.items()
                    if key in ("model", "median_step_seconds", "first_step_seconds")
                    or key.startswith("jax_over")
                }
            ),
            flush=True,
        )
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as file:
            json.dump(results, file, indent=2)
    return results


if __name__ == "__main__":
    main()
