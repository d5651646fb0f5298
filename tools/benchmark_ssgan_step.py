"""Time one SS-GAN training step: the Keras model against a plain TF step.

The Keras path is what a user runs: `SSGAN.compile(jit_compile=True)` and
the model's compiled train function (the function `model.fit` calls once per
step), fed from a `tf.data` iterator. The TF path is the same step written
directly: the method's own generator, discriminator and loss methods,
`tf.GradientTape`, two Adam optimizers with the same settings, one
`tf.function(jit_compile=True)` per step, driven by a Python loop over the
same dataset. Both run in the same process on the same networks and are
interleaved step by step, so load on a shared machine hits both alike; the
medians of the timed steps are compared (warm-up steps, which include
tracing and XLA compilation, are excluded). Without XLA both paths are timed
as well, for context, and a short `model.fit` run measures the step time
between consecutive batches as fit sees it (callbacks included).

Evidence for the usual causes of a slow Keras step is recorded: whether
Keras kept XLA on (`model.jit_compile`), how many times each step function
was traced (a retrace per step would show as a count above one), and the
spread of the timed steps.

    nice -n 10 .venv/bin/python tools/benchmark_ssgan_step.py \
        --out tools/results/ssgan_step.json
"""

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from keras_ssl import data as ssl_data  # noqa: E402
from keras_ssl.methods.adversarial import PAPER_ADAM  # noqa: E402
from keras_ssl.methods.ssgan import build_ssgan  # noqa: E402

DEFAULT_DATA = os.path.join(
    os.path.dirname(ROOT), "shared", "data", "cifar10-jpeg", "test.zip"
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default=DEFAULT_DATA, help="CIFAR-10 zip (test split)"
    )
    parser.add_argument("--g-width", type=int, default=256)
    parser.add_argument("--d-width", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--loss", default="non_saturating")
    parser.add_argument("--n-disc", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--no-xla-warmup", type=int, default=1)
    parser.add_argument("--no-xla-repeats", type=int, default=4)
    parser.add_argument("--fit-warmup", type=int, default=1)
    parser.add_argument("--fit-repeats", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", default=os.path.join(ROOT, "tools/results/ssgan_step.json")
    )
    return parser.parse_args(argv)


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class TraceCounter:
    """Counts how often a Python function body runs, i.e. how often it is traced."""

    def __init__(self, function):
        self.function = function
        self.count = 0

    def __call__(self, *args, **kwargs):
        self.count += 1
        return self.function(*args, **kwargs)


def make_tf_step(model, jit_compile):
    """The SS-GAN step written directly in TensorFlow, on the model's networks.

    Same order of work as `GAN.train_step` with n_disc=1: one D update on the
    real batch and fresh fakes, then one G update on fresh fakes, using the
    method's `discriminator_loss` / `generator_loss` (the paper lives there).
    No metrics are tracked: the two losses are returned.
    """
    generator, discriminator = model.generator, model.discriminator
    g_optimizer = keras.optimizers.Adam(**PAPER_ADAM)
    d_optimizer = keras.optimizers.Adam(**PAPER_ADAM)
    g_optimizer.build(generator.trainable_variables)
    d_optimizer.build(discriminator.trainable_variables)
    z_dim = model.z_dim

    def step(real):
        batch = tf.shape(real)[0]
        z = tf.random.normal((batch, z_dim))
        fake = tf.stop_gradient(generator(z, training=True))
        d_vars = discriminator.trainable_variables
        with tf.GradientTape() as tape:
            d_loss, _ = model.discriminator_loss(real, fake, training=True)
        d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
        z = tf.random.normal((batch, z_dim))
        g_vars = generator.trainable_variables
        with tf.GradientTape() as tape:
            fake = generator(z, training=True)
            g_loss, _ = model.generator_loss(fake, training=True)
        g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
        return d_loss, g_loss

    counter = TraceCounter(step)
    # No AutoGraph, like Keras' own step functions: the step has no
    # tensor-dependent Python control flow to convert.
    return tf.function(counter, jit_compile=jit_compile, autograph=False), counter


def make_keras_step(model, iterator, jit_compile):
    """The model's compiled train function (what `fit` calls per step)."""
    model.jit_compile = jit_compile
    model.make_train_function(force=True)
    function = model.train_function

    def run():
        logs = function(iterator)
        return {k: float(np.asarray(v)) for k, v in logs.items()}

    return run, function


def time_interleaved(paths, warmup, repeats):
    """Runs every path once per round; returns per-path lists of timed seconds.

    The order inside a round alternates, so neither path always runs right
    after the other.
    """
    names = list(paths)
    times = {name: [] for name in names}
    warm = {name: [] for name in names}
    for round_index in range(warmup + repeats):
        order = names if round_index % 2 == 0 else names[::-1]
        for name in order:
            start = time.perf_counter()
            paths[name]()
            elapsed = time.perf_counter() - start
            (warm if round_index < warmup else times)[name].append(elapsed)
    return times, warm


def summary(values):
    return {
        "median_ms": 1000 * statistics.median(values),
        "min_ms": 1000 * min(values),
        "max_ms": 1000 * max(values),
        "n": len(values),
        "all_ms": [round(1000 * v, 1) for v in values],
    }


class FitStepTimer(keras.callbacks.Callback):
    """Wall time between consecutive batch ends in `fit` (logs synced)."""

    def __init__(self):
        super().__init__()
        self.times = []
        self._last = None

    def on_train_batch_end(self, batch, logs=None):
        for value in (logs or {}).values():
            np.asarray(value)
        now = time.perf_counter()
        if self._last is not None:
            self.times.append(now - self._last)
        self._last = now


def main(argv=None):
    args = parse_args(argv)
    start_wall, start_cpu = time.perf_counter(), cpu_seconds()
    load_start = list(os.getloadavg())
    keras.utils.set_random_seed(args.seed)
    images, _ = ssl_data.load_arrays(
        args.data, split="test", limit=args.batch_size, seed=args.seed
    )
    batch = tf.constant(images[: args.batch_size])
    dataset = tf.data.Dataset.from_tensors(batch).repeat()

    model = build_ssgan(
        32,
        g_width=args.g_width,
        d_width=args.d_width,
        loss=args.loss,
        n_disc=args.n_disc,
        seed=args.seed,
    )
    model.compile(jit_compile=True)
    xla_kept = bool(model.jit_compile)
    keras_counter = TraceCounter(model.train_step)
    model.train_step = keras_counter
    iterator = iter(dataset)

    keras_xla, xla_train_function = make_keras_step(model, iterator, jit_compile=True)
    keras_eager_graph, _ = make_keras_step(model, iterator, jit_compile=False)
    tf_xla_fn, tf_xla_counter = make_tf_step(model, jit_compile=True)
    tf_graph_fn, tf_graph_counter = make_tf_step(model, jit_compile=False)
    tf_iterator = iter(dataset)

    def tf_xla():
        d_loss, g_loss = tf_xla_fn(next(tf_iterator))
        return float(d_loss), float(g_loss)

    def tf_graph():
        d_loss, g_loss = tf_graph_fn(next(tf_iterator))
        return float(d_loss), float(g_loss)

    print("XLA: Keras train function vs TF step", flush=True)
    xla_cpu = cpu_seconds()
    xla_times, xla_warm = time_interleaved(
        {"keras_xla": keras_xla, "tf_xla": tf_xla}, args.warmup, args.repeats
    )
    xla_cpu = cpu_seconds() - xla_cpu
    traces_after_xla = {"keras": keras_counter.count, "tf": tf_xla_counter.count}

    print("no XLA: Keras train function vs TF step", flush=True)
    graph_times, graph_warm = time_interleaved(
        {"keras_no_xla": keras_eager_graph, "tf_no_xla": tf_graph},
        args.no_xla_warmup,
        args.no_xla_repeats,
    )

    print("model.fit with XLA", flush=True)
    # fit reuses the XLA train function compiled above (no second compile).
    model.jit_compile = True
    model.train_function = xla_train_function
    timer = FitStepTimer()
    model.fit(
        dataset,
        steps_per_epoch=args.fit_warmup + args.fit_repeats + 1,
        epochs=1,
        verbose=0,
        callbacks=[timer],
    )
    fit_times = timer.times[args.fit_warmup :]

    results = {}
    for group in (xla_times, graph_times):
        for name, values in group.items():
            results[name] = summary(values)
    results["keras_fit_xla"] = summary(fit_times)
    ratio = results["keras_xla"]["median_ms"] / results["tf_xla"]["median_ms"]
    ratio_no_xla = (
        results["keras_no_xla"]["median_ms"] / results["tf_no_xla"]["median_ms"]
    )
    ratio_fit = results["keras_fit_xla"]["median_ms"] / results["tf_xla"]["median_ms"]
    paired = [k / t for k, t in zip(xla_times["keras_xla"], xla_times["tf_xla"])]
    record = {
        "benchmark": "SSGAN training step: Keras model vs direct TensorFlow",
        "command": "nice -n 10 .venv/bin/python tools/benchmark_ssgan_step.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "setup": {
            "method": "SSGAN (keras_ssl.methods.ssgan.build_ssgan)",
            "image_shape": [32, 32, 3],
            "g_width": args.g_width,
            "d_width": args.d_width,
            "batch_size": args.batch_size,
            "loss": args.loss,
            "n_disc": args.n_disc,
            "alpha": model.alpha,
            "beta": model.beta,
            "optimizers": f"Adam {PAPER_ADAM} for G and D",
            "data": f"{args.batch_size} CIFAR-10 test images from {args.data}, "
            "one fixed batch repeated from tf.data",
            "generator_params": int(model.generator.count_params()),
            "discriminator_params": int(model.discriminator.count_params()),
            "warmup_steps_excluded": {
                "xla": args.warmup,
                "no_xla": args.no_xla_warmup,
                "fit": args.fit_warmup,
            },
            "timed_steps": {
                "xla": args.repeats,
                "no_xla": args.no_xla_repeats,
                "fit": args.fit_repeats,
            },
            "interleaving": "Keras and TF steps alternate within each round, "
            "order reversed every other round",
            "keras_path": "model.compile(jit_compile=...); model.train_function"
            "(iterator) (the function fit calls per step), logs fetched to host",
            "tf_path": "tf.function(step, jit_compile=...) on the same generator, "
            "discriminator, discriminator_loss and generator_loss; GradientTape; "
            "separate Adam optimizers with the same settings; losses fetched "
            "to host",
            "fit_path": "model.fit(dataset, steps_per_epoch=...), verbose=0, "
            "time between consecutive on_train_batch_end (logs synced)",
            "machine": {
                "platform": platform.platform(),
                "cpu_count": os.cpu_count(),
                "load_average_at_start": load_start,
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
                "devices": [d.device_type for d in tf.config.list_physical_devices()],
            },
        },
        "evidence": {
            "keras_jit_compile_after_compile": xla_kept,
            "train_step_traces_keras": traces_after_xla["keras"],
            "train_step_traces_keras_total": keras_counter.count,
            "step_traces_tf_xla": tf_xla_counter.count,
            "step_traces_tf_no_xla": tf_graph_counter.count,
            "warmup_ms": {
                name: [round(1000 * v, 1) for v in values]
                for group in (xla_warm, graph_warm)
                for name, values in group.items()
            },
            "paired_ratio_keras_over_tf_xla_median": statistics.median(paired),
        },
        "results": results,
        "ratio_keras_over_tf_xla": ratio,
        "ratio_keras_over_tf_no_xla": ratio_no_xla,
        "ratio_fit_over_tf_xla": ratio_fit,
        "target": "Keras / TF <= 1.15 with XLA",
        "target_met": bool(ratio <= 1.15),
        "cpu_seconds_xla_section": xla_cpu,
        "cpu_seconds_total": cpu_seconds() - start_cpu,
        "wall_seconds_total": time.perf_counter() - start_wall,
        "load_average_at_end": list(os.getloadavg()),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as file:
        json.dump(record, file, indent=2)
    print(json.dumps({k: record[k] for k in record if k.startswith("ratio")}, indent=2))
    for name, value in results.items():
        print(f"{name}: median {value['median_ms']:.0f} ms over {value['n']} steps")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
