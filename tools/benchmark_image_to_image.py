"""Benchmark of pix2pix and CycleGAN on the shared CIFAR-10 copy (32x32).

pix2pix, on paired tasks built on the fly from CIFAR-10 images
(`keras_ssl.data.paired`): greyscale -> colour with an RGB target
(`grey_to_colour`: G must also regenerate the lightness), the authors'
colorization mode (`lightness_to_ab`: CIE L in, ab out, the RGB result put
together with the input's L, as upstream's `colorization` model) and Sobel
edges -> photo.
For each task the same U-Net (width `--width`, depth 5: a 1x1 bottleneck at
32x32) trains for the same number of steps with the paper's loss (cGAN +
100 L1, 70x70-style PatchGAN with 3 layers: a 2x2 map at 32x32) and with
L1 alone (the paper's ablation), Adam 2e-4 / 0.5, batch 16. On held-out
CIFAR-10 test images: PSNR (peak-to-peak 2 in [-1, 1], i.e. 1 in [0, 1]),
SSIM (`tf.image.ssim` on [0, 1] images, 7x7 Gaussian window of sigma 1.5
because the images are 32x32) and mean absolute error in [-1, 1], against
the copy baseline (the input repeated to 3 channels; for `lightness_to_ab`
the input's L with a = b = 0). Colour tasks are also scored on the colour
distribution: the intersection of the 2-D ab histograms (10-unit cells) of
the outputs and of the targets (the pix2pix paper's Fig. 7 measure; 1 = the
same distribution), and the mean chroma sqrt(a^2 + b^2).

CycleGAN, automobile <-> truck (CIFAR-10 classes 1 and 9, unpaired): two
ResNet generators (`--cyclegan-blocks` blocks) and two PatchGANs, LSGAN,
cycle 10, identity 0.5 x 10, pool 50, batch 8, Adam 2e-4 constant, or
with `--cyclegan-decay-steps N` constant then linearly decayed to 0 over
the last N steps (the paper's schedule, shortened). FID (domain features: the
penultimate layer of `keras_ssl.evaluation.train_domain_classifier`
trained on the CIFAR-10 training subset) of G(test automobiles) against
test trucks, next to the untranslated automobiles against test trucks (the
copy baseline) and training trucks against test trucks (the floor at this
sample size); the mean cycle error |F(G(a)) - a| on test automobiles.

Speed, in images per process-CPU second (the machine is shared, so wall
time measures the neighbours): training of each run after its first
(tracing) step, GAN + L1 as a ratio to L1 alone in the same run, and
inference of each generator. A sample sheet (rows: input, pix2pix, L1 only,
target for each task; automobile, G(automobile), F(G(automobile)) for
CycleGAN; 8 test images) goes to docs/images/image_to_image_cifar10.png.

    nice -n 10 .venv/bin/python tools/benchmark_image_to_image.py
    nice -n 10 .venv/bin/python tools/benchmark_image_to_image.py --steps 50 \\
        --cyclegan-steps 20 --out /tmp/i2i.json

`--only pix2pix` / `--only cyclegan` runs one part (the two can run side
by side) and writes `<out stem>_<part>.json` and `<figure stem>_<part>.png`.

Results go to tools/results/image_to_image.json.
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

from keras_ssl.data import load_arrays  # noqa: E402
from keras_ssl.data.paired import lab_pair_to_images, make_pairs  # noqa: E402
from keras_ssl.evaluation import (  # noqa: E402
    domain_extractor,
    fid,
    train_domain_classifier,
)
from keras_ssl.methods import build_cyclegan, build_pix2pix  # noqa: E402
from keras_ssl.methods.pix2pix import to_uint8  # noqa: E402
from keras_ssl.ops.color import images_to_lab  # noqa: E402
from keras_ssl.training.callbacks.sample_grid import save_image_grid  # noqa: E402

CIFAR = ROOT.parent / "shared" / "data" / "cifar10-jpeg"
RESULTS = ROOT / "tools" / "results" / "image_to_image.json"
FIGURE = ROOT / "docs" / "images" / "image_to_image_cifar10.png"
TASKS = ("grey_to_colour", "lightness_to_ab", "edges_to_photo")
COLOUR_TASKS = ("grey_to_colour", "lightness_to_ab")
AUTOMOBILE, TRUCK = 1, 9


def psnr(x, y):
    mse = np.mean((x - y) ** 2, axis=(1, 2, 3))
    return float(np.mean(10 * np.log10(4.0 / np.maximum(mse, 1e-10))))


def ssim(x, y):
    x01 = tf.convert_to_tensor((x + 1) / 2)
    y01 = tf.convert_to_tensor((y + 1) / 2)
    return float(tf.reduce_mean(tf.image.ssim(x01, y01, 1.0, filter_size=7)))


def quality(outputs, targets):
    return {
        "psnr": psnr(outputs, targets),
        "ssim": ssim(outputs, targets),
        "l1": float(np.mean(np.abs(outputs - targets))),
    }


def ab_histogram(images):
    """The distribution of the ab values of RGB images on 10-unit cells."""
    ab = np.asarray(images_to_lab(images))[..., 1:].reshape(-1, 2)
    edges = np.arange(-110, 111, 10)
    counts, _, _ = np.histogram2d(ab[:, 0], ab[:, 1], bins=[edges, edges])
    return counts / counts.sum()


def colour_distribution(outputs, targets):
    ab = np.asarray(images_to_lab(outputs))[..., 1:]
    return {
        "ab_histogram_intersection": float(
            np.minimum(ab_histogram(outputs), ab_histogram(targets)).sum()
        ),
        "mean_chroma": float(np.mean(np.sqrt(np.sum(ab**2, axis=-1)))),
    }


def scores(task, outputs, targets):
    result = quality(outputs, targets)
    if task in COLOUR_TASKS:
        result.update(colour_distribution(outputs, targets))
    return result


def as_rgb(images):
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def timed_fit(model, dataset, steps):
    # The first step (tracing) is timed apart; rates use the steady steps.
    model.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0)
    cpu, wall = time.process_time(), time.perf_counter()
    history = model.fit(dataset, steps_per_epoch=steps - 1, epochs=1, verbose=0)
    return history, time.process_time() - cpu, time.perf_counter() - wall


def inference_rate(generator, images, repeats=3):
    """Images per process-CPU second (the machine is shared: wall time is not)."""
    batch = images[:256]
    generator.predict_on_batch(batch)
    start = time.process_time()
    for _ in range(repeats):
        generator.predict_on_batch(batch)
    return repeats * len(batch) / (time.process_time() - start)


def run_pix2pix(task, train, test, args):
    a, b = make_pairs(train, task, seed=0)
    test_a, test_b = make_pairs(test, task, seed=1)
    if task == "lightness_to_ab":
        # Scored in RGB: the predicted ab with the input's lightness.
        def as_image(outputs):
            return np.asarray(lab_pair_to_images(test_a, outputs))

        copy = as_image(np.zeros_like(test_b))
    else:

        def as_image(outputs):
            return outputs

        copy = as_rgb(test_a)
    truth = as_image(test_b)
    dataset = (
        tf.data.Dataset.from_tensor_slices((a, b))
        .shuffle(len(a), seed=0)
        .repeat()
        .batch(args.batch_size, drop_remainder=True)
    )
    result = {
        "copy_baseline": scores(task, copy, truth),
        "runs": {},
    }
    if task in COLOUR_TASKS:
        result["target_mean_chroma"] = colour_distribution(truth, truth)["mean_chroma"]
    outputs = {}
    for name, gan_weight in (("pix2pix", 1.0), ("l1_only", 0.0)):
        keras.utils.set_random_seed(args.seed)
        model = build_pix2pix(
            32,
            channels=test_a.shape[-1],
            output_channels=test_b.shape[-1],
            width=args.width,
            gan_weight=gan_weight,
        )
        model.compile()
        history, cpu, wall = timed_fit(model, dataset, args.steps)
        out = as_image(model.translate(test_a))
        outputs[name] = out
        result["runs"][name] = {
            **scores(task, out, truth),
            "train_images_per_cpu_second": (args.steps - 1) * args.batch_size / cpu,
            "train_cpu_seconds": cpu,
            "train_wall_seconds": wall,
            "last_logs": {k: float(v[-1]) for k, v in history.history.items()},
            "inference_images_per_cpu_second": inference_rate(model.generator, test_a),
            "generator_parameters": model.generator.count_params(),
        }
        print(task, name, json.dumps(result["runs"][name]), flush=True)
    runs = result["runs"]
    result["train_speed_ratio_pix2pix_to_l1_only"] = (
        runs["pix2pix"]["train_images_per_cpu_second"]
        / runs["l1_only"]["train_images_per_cpu_second"]
    )
    rows = [as_rgb(test_a), outputs["pix2pix"], outputs["l1_only"], truth]
    return result, [to_uint8(r[: args.sheet_columns]) for r in rows]


def truck_scores(classifier, images):
    """Share of `images` the domain classifier calls trucks; mean P(truck)."""
    probabilities = tf.nn.softmax(classifier.predict(images, verbose=0)).numpy()
    return {
        "classified_truck": float(np.mean(np.argmax(probabilities, -1) == TRUCK)),
        "classified_automobile": float(
            np.mean(np.argmax(probabilities, -1) == AUTOMOBILE)
        ),
        "mean_p_truck": float(np.mean(probabilities[:, TRUCK])),
    }


def run_cyclegan(train, train_labels, test, test_labels, classifier, args):
    extractor = domain_extractor(classifier)
    a, b = train[train_labels == AUTOMOBILE], train[train_labels == TRUCK]
    test_a, test_b = test[test_labels == AUTOMOBILE], test[test_labels == TRUCK]
    count = min(len(a), len(b))
    dataset = tf.data.Dataset.zip(
        (
            tf.data.Dataset.from_tensor_slices(a[:count]).shuffle(count, seed=1),
            tf.data.Dataset.from_tensor_slices(b[:count]).shuffle(count, seed=2),
        )
    )
    dataset = dataset.repeat().batch(args.cyclegan_batch_size, drop_remainder=True)
    keras.utils.set_random_seed(args.seed)
    model = build_cyclegan(
        32, width=args.width, num_blocks=args.cyclegan_blocks, seed=args.seed
    )
    if args.cyclegan_decay_steps:
        model.compile(
            constant_steps=args.cyclegan_steps - args.cyclegan_decay_steps,
            decay_steps=args.cyclegan_decay_steps,
        )
    else:
        model.compile()

    def cycle_error():
        rec = model.translate(model.translate(test_a), direction="b_to_a")
        return float(np.mean(np.abs(rec - test_a)))

    before = cycle_error()
    history, cpu, wall = timed_fit(model, dataset, args.cyclegan_steps)
    fake_b = model.translate(test_a)
    options = {"extractor": extractor, "verbose": False}
    result = {
        "train_automobiles": int(len(a)),
        "train_trucks": int(len(b)),
        "test_automobiles": int(len(test_a)),
        "test_trucks": int(len(test_b)),
        "fid_domain_translated_vs_test_trucks": fid(fake_b, test_b, **options),
        "fid_domain_copy_baseline_automobiles_vs_test_trucks": fid(
            test_a, test_b, **options
        ),
        "fid_domain_floor_train_trucks_vs_test_trucks": fid(
            b[: len(test_b)], test_b, **options
        ),
        "domain_classifier_on_translated": truck_scores(classifier, fake_b),
        "domain_classifier_on_test_automobiles": truck_scores(classifier, test_a),
        "domain_classifier_on_test_trucks": truck_scores(classifier, test_b),
        "mean_abs_change_g_of_a_minus_a": float(np.mean(np.abs(fake_b - test_a))),
        "cycle_error_before": before,
        "cycle_error_after": cycle_error(),
        "train_images_per_cpu_second": (args.cyclegan_steps - 1)
        * args.cyclegan_batch_size
        / cpu,
        "train_cpu_seconds": cpu,
        "train_wall_seconds": wall,
        "last_logs": {k: float(v[-1]) for k, v in history.history.items()},
        "inference_images_per_cpu_second": inference_rate(model.generator_ab, test_a),
        "generator_parameters": model.generator_ab.count_params(),
    }
    print("cyclegan", json.dumps(result), flush=True)
    rec = model.translate(fake_b, direction="b_to_a")
    rows = [test_a, fake_b, rec]
    return result, [to_uint8(r[: args.sheet_columns]) for r in rows]


def write_sheet(rows, path):
    save_image_grid(np.concatenate(rows), path, columns=len(rows[0]), padding=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-images", type=int, default=10000)
    parser.add_argument("--test-images", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--cyclegan-steps", type=int, default=400)
    parser.add_argument("--cyclegan-batch-size", type=int, default=8)
    parser.add_argument("--cyclegan-blocks", type=int, default=3)
    parser.add_argument("--cyclegan-decay-steps", type=int, default=0)
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--classifier-epochs", type=int, default=4)
    parser.add_argument("--sheet-columns", type=int, default=8)
    parser.add_argument(
        "--only",
        choices=("pix2pix", "cyclegan"),
        help="run one part; it writes <out stem>_<part>.json and its own sheet",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--figure", default=str(FIGURE))
    args = parser.parse_args(argv)

    started = time.perf_counter()
    train, train_labels = load_arrays(
        str(CIFAR / "train.zip"), limit=args.train_images, seed=0
    )
    test, test_labels = load_arrays(
        str(CIFAR / "test.zip"), split="test", limit=args.test_images, seed=0
    )
    results = {
        "command": "nice -n 10 .venv/bin/python tools/benchmark_image_to_image.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "settings": vars(args),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
        "pix2pix": {},
    }
    if args.only:
        stem, suffix = os.path.splitext(args.out)
        args.out = f"{stem}_{args.only}{suffix}"
        stem, suffix = os.path.splitext(args.figure)
        args.figure = f"{stem}_{args.only}{suffix}"
    sheet = []
    if args.only != "cyclegan":
        for task in args.tasks:
            results["pix2pix"][task], rows = run_pix2pix(task, train, test, args)
            sheet.extend(rows)
    if args.only != "pix2pix":
        results.update(run_cyclegan_part(train, train_labels, test, test_labels, args))
        sheet.extend(results.pop("_rows"))
    write_sheet(sheet, args.figure)
    results["figure"] = os.path.relpath(args.figure, ROOT)
    results["seconds"] = time.perf_counter() - started
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2)
    print(f"wrote {args.out} and {args.figure}")


def run_cyclegan_part(train, train_labels, test, test_labels, args):
    results = {}
    classifier = train_domain_classifier(
        (train, train_labels),
        num_classes=10,
        epochs=args.classifier_epochs,
        seed=args.seed,
        verbose=0,
    )
    results["domain_classifier"] = {
        "train_images": int(len(train)),
        "epochs": args.classifier_epochs,
        "test_accuracy": float(
            np.mean(np.argmax(classifier.predict(test, verbose=0), -1) == test_labels)
        ),
    }
    results["cyclegan_automobile_to_truck"], results["_rows"] = run_cyclegan(
        train, train_labels, test, test_labels, classifier, args
    )
    return results


if __name__ == "__main__":
    main()
