"""Benchmark of the colorization methods on the shared CIFAR-10 copy.

Colorization (Zhang et al. 2016; classification and its L2 regression
baseline), ColorizationProxy (Larsson et al. 2017) and SplitBrain (Zhang et
al. 2017) each train the same small encoder (a 3-block NIN of width 32; each
SplitBrain half width 16) on the same CIFAR-10 training subset for the same
CPU-time budget (process CPU seconds, so that a busy machine does not
shorten a run), with Adam 1e-3 and batch 64. Then, on CIFAR-10 test images:

- colour quality of the predicted colours (mean ab error in Lab units, PSNR
  of the RGB image from the true L and the predicted ab) against the grey
  baseline (a = b = 0 everywhere);
- linear probe (`keras_ssl.evaluation.linear_probe`, per NIN block) and
  weighted kNN (`knn_accuracy`, k 200) of the frozen encoder, fitted on the
  training subset's labels, against the same encoder untrained. Encoders
  trained on greyscale images (Colorization, ColorizationProxy) are probed
  on greyscale images, SplitBrain's (which takes Lab) on colour images;
- training throughput in images per CPU second, and as a ratio to RotNet
  with the same encoder trained in the same run.

A PNG of colorized test images (rows: greyscale input, each method,
original) is written to docs/images/colorization_cifar10.png.

    nice -n 10 .venv/bin/python tools/benchmark_colorization.py
    nice -n 10 .venv/bin/python tools/benchmark_colorization.py --cpu-seconds 60 \\
        --methods colorization split_brain

Results are merged into tools/results/colorization.json after every method.
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
from keras import ops  # noqa: E402

from keras_ssl.methods import build_method  # noqa: E402
from keras_ssl.methods.colorization import color_quality, to_uint8  # noqa: E402
from keras_ssl.ops.color import greyscale, images_to_lab  # noqa: E402
from keras_ssl.training.callbacks.sample_grid import save_image_grid  # noqa: E402
from tools._budget import fit_for_budget, load_cifar, merge_json  # noqa: E402
from tools._budget import probe as shared_probe  # noqa: E402

RESULTS = ROOT / "tools" / "results" / "colorization.json"
FIGURE = ROOT / "docs" / "images" / "colorization_cifar10.png"

# name -> (registered method, extra build arguments, probe on grey images)
METHODS = {
    "colorization": ("colorization", {}, True),
    "colorization_regression": ("colorization", {"objective": "regression"}, True),
    "colorization_proxy": ("colorization_proxy", {"seed": 0}, True),
    "split_brain": ("split_brain", {}, False),
}


def build(name, args):
    method, extra, _ = METHODS.get(name, (name, {}, False))
    width = args.width // 2 if method == "split_brain" else args.width
    config = dict(
        image_size=32,
        channels=3,
        encoder_config={"num_blocks": 3, "width": width},
        **extra,
    )
    keras.utils.set_random_seed(0)
    return build_method(method, **config)


def train(model, images, args, seconds=None):
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    return fit_for_budget(
        model,
        images,
        seconds or args.cpu_seconds,
        args.batch_size,
        batch_size=args.batch_size,
        shuffle=True,
    )


def probe(encoder, data, grey, args):
    train_x, test_x = data["train_x"], data["test_x"]
    if grey:
        train_x = ops.convert_to_numpy(greyscale(train_x))
        test_x = ops.convert_to_numpy(greyscale(test_x))
    layers = [n for n in ("block2", "block3") if _has_layer(encoder, n)]
    return shared_probe(
        encoder,
        (train_x, data["train_y"]),
        (test_x, data["test_y"]),
        layers=layers or None,
        epochs=args.probe_epochs,
    )


def _has_layer(model, name):
    return any(layer.name == name for layer in model.layers)


def grey_baseline(test_x):
    lab = images_to_lab(test_x)
    error, psnr = color_quality(lab, ops.zeros_like(lab[..., 1:]))
    return {"color_error": round(float(error), 3), "psnr": round(float(psnr), 3)}


def colour_quality_of(model, test_x, batch_size=250):
    errors, psnrs = [], []
    for start in range(0, len(test_x), batch_size):
        batch = test_x[start : start + batch_size]
        coloured = model.colorize(batch).astype("float32") / 127.5 - 1.0
        # The colorized image's ab at full resolution against the truth.
        lab = images_to_lab(batch)
        predicted = images_to_lab(coloured)[..., 1:]
        error, psnr = color_quality(lab, predicted)
        errors.append(float(error))
        psnrs.append(float(psnr))
    return {
        "color_error": round(float(np.mean(errors)), 3),
        "psnr": round(float(np.mean(psnrs)), 3),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--cpu-seconds", type=float, default=150.0)
    parser.add_argument("--baseline-cpu-seconds", type=float, default=40.0)
    parser.add_argument("--train-images", type=int, default=5000)
    parser.add_argument("--test-images", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--probe-epochs", type=int, default=20)
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument("--figure", default=str(FIGURE))
    args = parser.parse_args()
    output, figure = pathlib.Path(args.output), pathlib.Path(args.figure)

    def merge(results):
        return merge_json(output, results)

    data = load_cifar(
        args.train_images, args.test_images, test_seed=1, shuffle_test=False
    )
    train_x, test_x = data["train_x"], data["test_x"]
    merge(
        {
            "setup": {
                "data": (
                    f"CIFAR-10 (shared JPEG copy): {len(train_x)} training images "
                    f"(pretext training, probe fitting), {len(test_x)} test images"
                ),
                "encoder": f"NIN, 3 blocks, width {args.width} "
                f"(SplitBrain: two halves of width {args.width // 2})",
                "training": f"Adam {args.learning_rate}, batch {args.batch_size}, "
                f"{args.cpu_seconds:g} process CPU seconds per method",
                "probe": f"linear probe {args.probe_epochs} epochs per NIN block "
                "(best reported), weighted kNN k=200, on the test images",
                "command": " ".join(
                    ["nice -n 10 .venv/bin/python tools/benchmark_colorization.py"]
                    + sys.argv[1:]
                ),
                "machine": f"{platform.processor() or platform.machine()}, "
                f"{os.cpu_count()} CPUs, shared with other jobs",
            },
            "grey_baseline": grey_baseline(test_x),
        }
    )
    print("grey baseline", grey_baseline(test_x), flush=True)

    rotnet = build("rotnet", args)
    timing, _ = train(rotnet, train_x, args, seconds=args.baseline_cpu_seconds)
    rotnet_speed = merge({"rotnet_speed_baseline": timing})["rotnet_speed_baseline"]
    print("rotnet", timing, flush=True)

    sample = test_x[:8]
    rows = [to_uint8(greyscale(sample))]
    # Colorization's, its regression variant's and the proxy's untrained
    # encoders are the same seeded NIN on the same inputs: probed once.
    random_probes = {}
    for name in args.methods:
        started = time.perf_counter()
        model = build(name, args)
        _, _, grey = METHODS[name]
        key = (METHODS[name][0] == "split_brain", grey)
        if key not in random_probes:
            random_probes[key] = probe(build(name, args).encoder, data, grey, args)
        random = random_probes[key]
        timing, last = train(model, train_x, args)
        heldout = model.evaluate(test_x, batch_size=250, verbose=0, return_dict=True)
        result = {
            **timing,
            "speed_vs_rotnet": round(
                timing["images_per_cpu_second"] / rotnet_speed["images_per_cpu_second"],
                3,
            ),
            "train_metrics_last_epoch": last,
            "heldout_metrics": {k: round(float(v), 4) for k, v in heldout.items()},
            "colorized_test_quality": colour_quality_of(model, test_x),
            "probe_input": "greyscale images" if grey else "colour images",
            "trained": probe(model.encoder, data, grey, args),
            "random_init": random,
            "total_wall_seconds": round(time.perf_counter() - started, 1),
        }
        merge({name: result})
        print(name, json.dumps(result), flush=True)
        rows.append(model.colorize(sample))
    rows.append(to_uint8(sample))
    grid = np.concatenate(rows)
    big = np.repeat(np.repeat(grid, 3, axis=1), 3, axis=2)
    figure.parent.mkdir(parents=True, exist_ok=True)
    save_image_grid(big, figure, columns=len(sample), padding=2)
    merge(
        {
            "figure": {
                "path": str(figure.resolve().relative_to(ROOT))
                if figure.resolve().is_relative_to(ROOT)
                else str(figure),
                "rows": ["greyscale input", *args.methods, "original"],
            }
        }
    )


if __name__ == "__main__":
    main()
