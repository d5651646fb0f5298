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
- `bigan_digits` (no CIFAR-10): BiGAN on the real 8x8 digits at 16x16 for
  `--digits-steps` steps (z_dim 32, width 32, batch 64), evaluated every
  500 steps on the 359 test digits: reconstruction error against x, against
  another test image (G(E(x')) for x' != x) and against a random training
  image, and the share of reconstructions whose nearest training image has
  x's class (chance about 0.1); then the encoder's linear probe and kNN
  against the untrained encoder;
- training throughput in images per CPU second and per wall second, and its
  ratio to a supervised step (cross-entropy through the same encoder and a
  linear head) timed in the same run.

It also writes a figure of inpainted test images (masked | inpainted |
original) and BiGAN reconstructions.

    nice -n 10 .venv/bin/python tools/benchmark_reconstruction.py
    nice -n 10 .venv/bin/python tools/benchmark_reconstruction.py --methods bigan
    nice -n 10 .venv/bin/python tools/benchmark_reconstruction.py --methods bigan_digits

Results are merged into tools/results/reconstruction.json after every method.
"""

import argparse
import json
import os
import pathlib
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_ssl.methods import (  # noqa: E402
    build_bigan,
    build_context_encoder,
    build_instance_discrimination,
)
from keras_ssl.methods.rotation_decoupling import indexed_dataset  # noqa: E402
from keras_ssl.ops import make_masks  # noqa: E402
from keras_ssl.training.callbacks.sample_grid import save_image_grid  # noqa: E402
from tools._budget import fit_for_budget, load_cifar, merge_json  # noqa: E402
from tools._budget import probe as shared_probe  # noqa: E402

RESULTS = ROOT / "tools" / "results" / "reconstruction.json"
FIGURES = ROOT / "docs" / "images"
METHODS = ("context_encoder", "instance_discrimination", "bigan", "bigan_digits")


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


def add_supervised_speed(entry, encoder, data, batch_size):
    """Adds the supervised step's throughput and the entry's ratio to it."""
    entry["supervised_images_per_cpu_second"] = round(
        supervised_throughput(encoder, data, batch_size), 1
    )
    entry["speed_vs_supervised"] = round(
        entry["images_per_cpu_second"] / entry["supervised_images_per_cpu_second"], 3
    )


def probe(encoder, layers, data, args):
    return shared_probe(
        encoder,
        (data["train_x"], data["train_y"]),
        (data["test_x"], data["test_y"]),
        layers=layers,
        epochs=args.probe_epochs,
    )


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
    return fit_for_budget(
        model, dataset, args.cpu_seconds, batch_size, steps_per_epoch=20
    )


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
    add_supervised_speed(entry, model.encoder, data, args.batch_size)
    figure_inpainting(model, data["test_x"][:8], bigan_figures(args))
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
    add_supervised_speed(entry, model.encoder, data, args.batch_size)
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
    figure_bigan(model, data["test_x"][:8], bigan_figures(args))
    return entry


def bigan_inversion(model, images, labels, train_x, train_y):
    """Errors of G(E(x)) against x and against other images; class kept."""
    rec = np.asarray(model.reconstruct(images))

    def mse(a, b):
        return round(float(np.mean(((a - b) / 2.0) ** 2)), 5)

    flat_rec = rec.reshape(len(rec), -1)
    flat_train = train_x.reshape(len(train_x), -1)
    distances = (flat_train**2).sum(1) - 2 * flat_rec @ flat_train.T
    nearest = train_y[distances.argmin(1)]
    return {
        "reconstruction_error": mse(rec, images),
        "error_against_another_test_image": mse(np.roll(rec, 1, axis=0), images),
        "class_kept": round(float(np.mean(nearest == labels)), 4),
    }


def run_bigan_digits(_, args):
    from keras_ssl.data import load_arrays

    train_x, train_y = load_arrays("digits", split="train", image_size=16)
    test_x, test_y = load_arrays("digits", split="test", image_size=16)
    data = {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y}
    keras.utils.set_random_seed(0)
    model = build_bigan(16, channels=1, z_dim=32, width=32, seed=0)
    model.compile()
    layers = ["act_1", "act_2", "codes"]
    random_probe = probe(model.encoder, layers, data, args)
    rng = np.random.default_rng(0)
    other = train_x[rng.integers(0, len(train_x), len(test_x))]
    entry = {
        "data": "digits (sklearn, 1438 train / 359 test), resized to 16x16",
        "z_dim": 32,
        "width": 32,
        "batch_size": 64,
        "error_random_training_image": round(
            float(np.mean(((other - test_x) / 2.0) ** 2)), 5
        ),
        "error_mean_training_image": round(
            float(np.mean(((train_x.mean(0, keepdims=True) - test_x) / 2.0) ** 2)),
            5,
        ),
        "class_kept_chance": round(
            float(np.sum(np.bincount(test_y) * np.bincount(train_y, minlength=10)))
            / (len(test_y) * len(train_y)),
            4,
        ),
        "trajectory": {0: bigan_inversion(model, test_x, test_y, train_x, train_y)},
    }
    dataset = (
        tf.data.Dataset.from_tensor_slices(train_x)
        .shuffle(len(train_x), seed=0)
        .repeat()
        .batch(64, drop_remainder=True)
    )
    cpu = time.process_time()
    for step in range(500, args.digits_steps + 1, 500):
        model.fit(dataset, steps_per_epoch=500, epochs=1, verbose=0)
        entry["trajectory"][step] = bigan_inversion(
            model, test_x, test_y, train_x, train_y
        )
        print("bigan_digits", step, entry["trajectory"][step], flush=True)
        cpu_seconds = time.process_time() - cpu
    entry["steps"] = args.digits_steps
    entry["train_and_evaluation_cpu_seconds"] = round(cpu_seconds, 1)
    entry["random_encoder"] = random_probe
    entry.update(probe(model.encoder, layers, data, args))
    images = test_x[:8]
    columns = [images, np.asarray(model.reconstruct(images))]
    grid = np.clip(np.round((_interleave(columns) + 1) * 127.5), 0, 255)
    path = bigan_figures(args) / "bigan_digits_reconstructions.png"
    save_image_grid(grid.astype("uint8"), path, columns=4, padding=2)
    print("wrote", path, flush=True)
    return entry


def _interleave(columns):
    """(N, H, W, C) columns -> rows of [column 0, column 1, ...] per image."""
    return np.stack(columns, axis=1).reshape((-1,) + columns[0].shape[1:])


def figure_inpainting(model, images, folder):
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
    path = folder / "context_encoder_inpainting.png"
    save_image_grid(grid.astype("uint8"), path, columns=len(columns), padding=2)
    print("wrote", path, flush=True)


def bigan_figures(args):
    """docs/images for the default results file, else beside `--output`."""
    output = pathlib.Path(args.output)
    return FIGURES if output.resolve() == RESULTS.resolve() else output.parent


def figure_bigan(model, images, folder):
    columns = [
        np.clip(np.round((c + 1) * 127.5), 0, 255).astype("uint8") for c in (images,)
    ]
    columns += model.preview(images)[1:]
    path = folder / "bigan_reconstructions.png"
    save_image_grid(_interleave(columns), path, columns=4, padding=2)
    print("wrote", path, flush=True)


def load_data(args):
    return load_cifar(args.train_limit, args.test_limit)


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
    parser.add_argument("--digits-steps", type=int, default=3000)
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
    data = None
    if set(args.methods) - {"bigan_digits"}:
        data = load_data(args)
    runners = {
        "context_encoder": run_context_encoder,
        "instance_discrimination": run_instance_discrimination,
        "bigan": run_bigan,
        "bigan_digits": run_bigan_digits,
    }
    for name in args.methods:
        started = time.process_time()
        entry = runners[name](data, args)
        entry["total_cpu_seconds"] = round(time.process_time() - started, 1)
        entry["command"] = " ".join(
            ["nice -n 10 .venv/bin/python tools/benchmark_reconstruction.py"]
            + list(sys.argv[1:] if argv is None else argv)
        )
        key = name
        if name == "instance_discrimination" and args.npid_optimizer == "adam":
            key = "instance_discrimination_adam"
        # Methods may run in parallel processes that share the output file.
        merge_json(
            output, lambda results, k=key, e=entry: add_entry(results, k, e, args)
        )
        print(name, json.dumps(entry), flush=True)


def add_entry(results, name, entry, args):
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


if __name__ == "__main__":
    main()
