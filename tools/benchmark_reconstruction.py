"""Benchmark of ContextEncoder, InstanceDiscrimination and BiGAN on CIFAR-10.

Each method trains on the same CIFAR-10 training subset for the same budget
of process CPU seconds (a busy machine does not shorten a run), then:

- linear probe (`keras_ssl.evaluation.linear_probe`, per encoder block) and
  weighted kNN (`knn_accuracy`, k 200) of the frozen encoder, fitted on the
  training subset's labels and scored on a CIFAR-10 test subset, against the
  same encoder randomly initialised;
- ContextEncoder: inpainting on the test subset (central squares and random
  regions, fixed seeds): masked-region L2 ([0, 1] scale) and PSNR, against
  mean fill (each removed pixel takes its image's mean context colour) and
  the untrained network;
- BiGAN: reconstruction error x -> E -> G on the test subset ([0, 1] scale),
  against the untrained networks and the mean training image;
- training throughput in images per CPU second and per wall second, and its
  ratio to a supervised step (cross-entropy through the same encoder and a
  linear head) timed in the same run.

It also writes a figure of inpainted test images (masked | inpainted |
original) and BiGAN reconstructions.

    nice -n 10 .venv/bin/python tools/benchmark_reconstruction.py
    nice -n 10 .venv/bin/python tools/benchmark_reconstruction.py --methods bigan

Results are merged into tools/results/reconstruction.json after every method.
"""

import argparse
import fcntl
import json
import os
import pathlib
import platform
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_ssl.data import load_arrays  # noqa: E402
from keras_ssl.evaluation import knn_accuracy, linear_probe  # noqa: E402
from keras_ssl.methods import (  # noqa: E402
    build_bigan,
    build_context_encoder,
    build_instance_discrimination,
)
from keras_ssl.methods.rotation_decoupling import indexed_dataset  # noqa: E402
from keras_ssl.ops import make_masks  # noqa: E402
from keras_ssl.training.callbacks.sample_grid import save_image_grid  # noqa: E402

CIFAR = ROOT.parent / "shared" / "data" / "cifar10-jpeg"
RESULTS = ROOT / "tools" / "results" / "reconstruction.json"
FIGURES = ROOT / "docs" / "images"
METHODS = ("context_encoder", "instance_discrimination", "bigan")


class CpuBudget(keras.callbacks.Callback):
    """Stop training once the process has used `seconds` of CPU time."""

    def __init__(self, seconds, batch_size):
        super().__init__()
        self.seconds = seconds
        self.batch_size = batch_size

    def on_train_begin(self, logs=None):
        self.cpu_start = time.process_time()
        self.wall_start = time.perf_counter()
        self.steps = 0
        self.after_first = None

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.steps == 1:
            # The first step includes tracing; throughput excludes it.
            self.after_first = (time.process_time(), time.perf_counter())
        if time.process_time() - self.cpu_start >= self.seconds:
            self.model.stop_training = True

    def summary(self):
        cpu_end, wall_end = time.process_time(), time.perf_counter()
        timed = max(self.steps - 1, 1) * self.batch_size
        cpu0, wall0 = self.after_first or (self.cpu_start, self.wall_start)
        return {
            "steps": self.steps,
            "train_images_seen": self.steps * self.batch_size,
            "cpu_seconds": round(cpu_end - self.cpu_start, 1),
            "wall_seconds": round(wall_end - self.wall_start, 1),
            "images_per_wall_second": round(timed / max(wall_end - wall0, 1e-9), 1),
            "images_per_cpu_second": round(timed / max(cpu_end - cpu0, 1e-9), 1),
        }


def supervised_throughput(encoder, data, batch_size, steps=15):
    """Images per CPU second of a supervised step through a copy of `encoder`."""
    clone = keras.models.clone_model(encoder)
    features = clone.output
    if len(features.shape) == 4:
        features = keras.layers.GlobalAveragePooling2D()(features)
    model = keras.Model(clone.input, keras.layers.Dense(10)(features))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    x = data["train_x"][: batch_size * (steps + 1)]
    y = data["train_y"][: batch_size * (steps + 1)]
    model.fit(x[:batch_size], y[:batch_size], batch_size=batch_size, verbose=0)
    cpu0 = time.process_time()
    model.fit(x[batch_size:], y[batch_size:], batch_size=batch_size, verbose=0)
    return steps * batch_size / max(time.process_time() - cpu0, 1e-9)


def probe(encoder, layers, data, args):
    train = (data["train_x"], data["train_y"])
    test = (data["test_x"], data["test_y"])
    linear = linear_probe(
        encoder, train, test, layers=layers, epochs=args.probe_epochs, seed=0
    )
    knn = knn_accuracy(encoder, train, test, k=min(200, len(train[0])))
    return {
        "linear_probe": {k: round(v, 4) for k, v in linear.items()},
        "linear_probe_best": round(max(linear.values()), 4),
        "knn_accuracy": round(knn, 4),
    }


def image_dataset(x, batch_size, seed):
    return (
        tf.data.Dataset.from_tensor_slices(x)
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .repeat()
        .prefetch(tf.data.AUTOTUNE)
    )


def train(model, dataset, batch_size, args, **compile_kwargs):
    model.compile(**compile_kwargs)
    budget = CpuBudget(args.cpu_seconds, batch_size)
    history = model.fit(
        dataset, epochs=1000, steps_per_epoch=20, verbose=0, callbacks=[budget]
    )
    last = {k: round(float(v[-1]), 4) for k, v in history.history.items()}
    return budget.summary(), last


def masked_quality(images, completed, masks):
    """Mean masked L2 ([0, 1] scale) and mean per-image PSNR of filled holes."""
    hole = masks[..., 0] > 0
    errors = ((completed - images) / 2.0) ** 2
    per_image = np.array([errors[i][hole[i]].mean() for i in range(len(images))])
    return {
        "masked_l2": round(float(errors[hole].mean()), 5),
        "psnr": round(float(np.mean(10 * np.log10(1 / per_image))), 3),
    }


def mean_fill(images, masks):
    hole = masks > 0
    filled = images.copy()
    for i in range(len(images)):
        context = images[i][~hole[i, ..., 0]]
        filled[i] = np.where(hole[i], context.mean(axis=0), images[i])
    return filled


def inpainting_quality(model, images):
    results = {}
    for kind in ("center", "regions"):
        masks = np.asarray(make_masks(kind, len(images), 32, seed=123))
        results[kind] = {
            "context_encoder": masked_quality(
                images, model.inpaint(images, masks), masks
            ),
            "mean_fill": masked_quality(images, mean_fill(images, masks), masks),
        }
    return results


def run_context_encoder(data, args):
    keras.utils.set_random_seed(0)
    model = build_context_encoder(32, width=args.width, mask=args.mask, seed=0)
    layers = ["act_2", "act_3"]
    random_probe = probe(model.encoder, layers, data, args)
    untrained = inpainting_quality(model, data["test_x"])
    speed, last = train(
        model, image_dataset(data["train_x"], args.batch_size, 0), args.batch_size, args
    )
    entry = {
        "batch_size": args.batch_size,
        **speed,
        "train_metrics_last_epoch": last,
        "random_encoder": random_probe,
        **probe(model.encoder, layers, data, args),
        "inpainting": inpainting_quality(model, data["test_x"]),
        "inpainting_untrained": untrained,
    }
    entry["supervised_images_per_cpu_second"] = round(
        supervised_throughput(model.encoder, data, args.batch_size), 1
    )
    entry["speed_vs_supervised"] = round(
        entry["images_per_cpu_second"] / entry["supervised_images_per_cpu_second"], 3
    )
    figure_inpainting(model, data["test_x"][:8])
    return entry


def run_instance_discrimination(data, args):
    keras.utils.set_random_seed(0)
    count = len(data["train_x"])
    model = build_instance_discrimination(
        32,
        num_examples=count,
        encoder="nin",
        encoder_config={"num_blocks": 4, "width": args.nin_width},
        num_negatives=args.negatives,
        seed=0,
    )
    layers = ["block2", "block3", "block4"]
    random_probe = probe(model.encoder, layers, data, args)
    random_knn_embedding = model.knn_accuracy(
        (data["train_x"], data["train_y"]), (data["test_x"], data["test_y"])
    )
    dataset = indexed_dataset(
        data["train_x"], batch_size=args.batch_size, seed=0, drop_remainder=True
    ).repeat()
    optimizer = None  # the paper's SGD(0.03, momentum 0.9, weight decay 5e-4)
    if args.npid_optimizer == "adam":
        optimizer = keras.optimizers.Adam(1e-3)
    speed, last = train(model, dataset, args.batch_size, args, optimizer=optimizer)
    entry = {
        "optimizer": "Adam(1e-3)"
        if args.npid_optimizer == "adam"
        else "SGD(0.03, momentum 0.9, weight_decay 5e-4)",
        "batch_size": args.batch_size,
        "num_negatives": args.negatives,
        **speed,
        "train_metrics_last_epoch": last,
        "random_encoder": {
            **random_probe,
            "knn_accuracy_embedding": round(random_knn_embedding, 4),
        },
        **probe(model.encoder, layers, data, args),
        "knn_accuracy_embedding": round(
            model.knn_accuracy(
                (data["train_x"], data["train_y"]), (data["test_x"], data["test_y"])
            ),
            4,
        ),
        "knn_accuracy_memory_bank": round(
            model.knn_accuracy(
                ("bank", data["train_y"]), (data["test_x"], data["test_y"])
            ),
            4,
        ),
    }
    entry["supervised_images_per_cpu_second"] = round(
        supervised_throughput(model.encoder, data, args.batch_size), 1
    )
    entry["speed_vs_supervised"] = round(
        entry["images_per_cpu_second"] / entry["supervised_images_per_cpu_second"], 3
    )
    return entry


def reconstruction_error(model, images):
    reconstructions = np.asarray(model.generator(model.encode(images), training=False))
    return round(float(np.mean(((reconstructions - images) / 2.0) ** 2)), 5)


def run_bigan(data, args):
    keras.utils.set_random_seed(0)
    model = build_bigan(32, z_dim=args.z_dim, width=args.width, seed=0)
    layers = ["act_2", "act_3", "codes"]
    random_probe = probe(model.encoder, layers, data, args)
    untrained = reconstruction_error(model, data["test_x"])
    mean_image = data["train_x"].mean(axis=0, keepdims=True)
    speed, last = train(
        model, image_dataset(data["train_x"], args.batch_size, 0), args.batch_size, args
    )
    entry = {
        "batch_size": args.batch_size,
        "z_dim": args.z_dim,
        **speed,
        "train_metrics_last_epoch": last,
        "random_encoder": random_probe,
        **probe(model.encoder, layers, data, args),
        "reconstruction_error": reconstruction_error(model, data["test_x"]),
        "reconstruction_error_untrained": untrained,
        "reconstruction_error_mean_image": round(
            float(np.mean(((data["test_x"] - mean_image) / 2.0) ** 2)), 5
        ),
    }
    entry["supervised_images_per_cpu_second"] = round(
        supervised_throughput(model.encoder, data, args.batch_size), 1
    )
    entry["speed_vs_supervised"] = round(
        entry["images_per_cpu_second"] / entry["supervised_images_per_cpu_second"], 3
    )
    figure_bigan(model, data["test_x"][:8])
    return entry


def _interleave(columns):
    """(N, H, W, C) columns -> rows of [column 0, column 1, ...] per image."""
    return np.stack(columns, axis=1).reshape((-1,) + columns[0].shape[1:])


def figure_inpainting(model, images):
    """Rows: centre masked | inpainted | regions masked | inpainted | original."""
    columns = []
    for kind in ("center", "regions"):
        masks = np.asarray(make_masks(kind, len(images), 32, seed=7))
        columns += [
            np.asarray(model.mask_images(images, masks)),
            model.inpaint(images, masks),
        ]
    columns.append(images)
    grid = np.clip(np.round((_interleave(columns) + 1) * 127.5), 0, 255)
    path = FIGURES / "context_encoder_inpainting.png"
    save_image_grid(grid.astype("uint8"), path, columns=len(columns), padding=2)
    print("wrote", path, flush=True)


def figure_bigan(model, images):
    columns = [
        np.clip(np.round((c + 1) * 127.5), 0, 255).astype("uint8") for c in (images,)
    ]
    columns += model.preview(images)[1:]
    path = FIGURES / "bigan_reconstructions.png"
    save_image_grid(_interleave(columns), path, columns=4, padding=2)
    print("wrote", path, flush=True)


def load_data(args):
    train_x, train_y = load_arrays(
        str(CIFAR / "train.zip"),
        split="train",
        image_size=32,
        limit=args.train_limit,
        seed=0,
    )
    test_x, test_y = load_arrays(
        str(CIFAR / "test.zip"),
        split="test",
        image_size=32,
        limit=args.test_limit,
        seed=0,
    )
    order = np.random.default_rng(0).permutation(len(test_x))
    return {
        "train_x": train_x,
        "train_y": train_y,
        "test_x": test_x[order],
        "test_y": test_y[order],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--cpu-seconds", type=float, default=150.0)
    parser.add_argument("--train-limit", type=int, default=4000)
    parser.add_argument("--test-limit", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--probe-epochs", type=int, default=15)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--nin-width", type=int, default=32)
    parser.add_argument("--z-dim", type=int, default=64)
    parser.add_argument("--negatives", type=int, default=1024)
    parser.add_argument("--mask", default="regions")
    parser.add_argument(
        "--npid-optimizer",
        choices=("sgd", "adam"),
        default="sgd",
        help="InstanceDiscrimination: the paper's SGD or Adam(1e-3); with adam "
        "the result is stored as instance_discrimination_adam",
    )
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args(argv)
    unknown = set(args.methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}; choose from {METHODS}")
    output = pathlib.Path(args.output)
    data = load_data(args)
    runners = {
        "context_encoder": run_context_encoder,
        "instance_discrimination": run_instance_discrimination,
        "bigan": run_bigan,
    }
    for name in args.methods:
        started = time.process_time()
        entry = runners[name](data, args)
        entry["total_cpu_seconds"] = round(time.process_time() - started, 1)
        entry["command"] = " ".join(
            ["nice -n 10 .venv/bin/python tools/benchmark_reconstruction.py"]
            + list(sys.argv[1:] if argv is None else argv)
        )
        output.parent.mkdir(parents=True, exist_ok=True)
        # Methods may run in parallel processes that share the output file.
        lock_path = pathlib.Path(tempfile.gettempdir()) / f"{output.name}.lock"
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            key = name
            if name == "instance_discrimination" and args.npid_optimizer == "adam":
                key = "instance_discrimination_adam"
            write_entry(output, key, entry, args)
        print(name, json.dumps(entry), flush=True)


def write_entry(output, name, entry, args):
    results = json.loads(output.read_text()) if output.exists() else {}
    results.setdefault("methods", {})[name] = entry
    results["setup"] = {
        "data": (
            f"shared CIFAR-10 JPEGs: {args.train_limit} train images (seeded "
            "subset) for training and for fitting the probes; "
            f"{args.test_limit} test images for probe/kNN accuracy, "
            "inpainting and reconstruction"
        ),
        "budget": (
            f"{args.cpu_seconds:g} s of process CPU time of training per "
            f"method, batch {args.batch_size}, each method's paper optimizer "
            "(InstanceDiscrimination: see each entry's optimizer)"
        ),
        "networks": (
            f"ContextEncoder: width {args.width} (4x4 bottleneck), trained with "
            f"'{args.mask}' masks; InstanceDiscrimination: nin_encoder("
            f"num_blocks=4, width={args.nin_width}), {args.negatives} NCE "
            f"negatives, t 0.07, augmentation on; BiGAN: width {args.width}, "
            f"z_dim {args.z_dim}"
        ),
        "linear_probe": (
            f"keras_ssl.evaluation.linear_probe per block, {args.probe_epochs} "
            "epochs, features pooled to <= 9216 dims"
        ),
        "knn": "keras_ssl.evaluation.knn_accuracy, k=200, temperature 0.1",
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPU cores shared, "
            f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
        ),
    }
    output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
