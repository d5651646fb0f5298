"""FID / KID of GAN, SS-GAN, ConditionalGAN and S3GAN on CIFAR-10, on a CPU.

Every method is built by its registered factory with the same narrow ResNet
widths, the same loss, seed, batch size and number of steps, and trained
with `model.fit` on the shared CIFAR-10 train split (`keras_ssl.data.load`,
shuffled with the seed, all 50,000 images). At each checkpoint (step 0
included) `num_samples` images from `generate(seed=...)` are compared with
the CIFAR-10 test split:

- FID (domain features): Frechet distance in the pooled features of a small
  classifier trained once on CIFAR-10 train images
  (`keras_ssl.evaluation.train_domain_classifier`, cached);
- KID in the same features (unbiased, so it compares across sample counts);
- IS (domain classifier): the Inception Score formula on the same
  classifier's logits, for context only.

The same numbers for real train images give the floor a perfect generator
would reach with this sample count. Training speed is images per second of
`fit` (real images consumed per wall second, evaluation and the first step,
which traces the graph, excluded) and CPU seconds per step; the machine may
be shared, so wall time depends on its load (recorded).

    nice -n 10 .venv/bin/python tools/benchmark_gans.py \
        --out tools/results/gans.json

Results are written after each method, so a partial run keeps what it did.
"""

import argparse
import json
import os
import platform
import resource
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
from keras_ssl import evaluation  # noqa: E402
from keras_ssl.methods.registry import build_method  # noqa: E402

# The shared data next to the repository (../shared/...), not an absolute path.
DATA_DIR = os.path.join(os.path.dirname(ROOT), "shared", "data", "cifar10-jpeg")
METHODS = ("gan", "ssgan", "cgan", "s3gan")
CONDITIONAL = ("cgan", "s3gan")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=DATA_DIR)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--steps", nargs="+", type=int, default=[0, 250, 500, 1000])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=16, help="D width; G = 2x")
    parser.add_argument("--z-dim", type=int, default=128)
    parser.add_argument("--loss", default="hinge")
    parser.add_argument("--labeled-fraction", type=float, default=0.1)
    parser.add_argument("--jit-compile", action="store_true")
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--reference-samples", type=int, default=5000)
    parser.add_argument("--kid-subsets", type=int, default=50)
    parser.add_argument("--classifier-limit", type=int, default=10000)
    parser.add_argument("--classifier-epochs", type=int, default=4)
    parser.add_argument("--classifier-width", type=int, default=16)
    parser.add_argument(
        "--seed", type=int, default=0, help="evaluation: classifier, subsets, samples"
    )
    parser.add_argument(
        "--gan-seed",
        type=int,
        default=None,
        help="training: weights, noise, data order (default: --seed)",
    )
    parser.add_argument("--out", default=os.path.join(ROOT, "tools/results/gans.json"))
    parser.add_argument(
        "--merge",
        nargs="+",
        metavar="JSON",
        help="only merge the methods of earlier runs (same setup) into --out",
    )
    args = parser.parse_args(argv)
    if args.gan_seed is None:
        args.gan_seed = args.seed
    if sorted(set(args.steps)) != args.steps or args.steps[0] < 0:
        parser.error(f"--steps must be increasing and >= 0. Received: {args.steps}")
    return args


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Evaluator:
    """FID, KID and IS of images against fixed reference features."""

    def __init__(self, extractor, reference_images, num_subsets, seed):
        self.extractor = extractor
        self.num_subsets = num_subsets
        self.seed = seed
        features, _ = self.features_and_logits(reference_images)
        self.reference = features
        self.mean = features.mean(axis=0)
        self.covariance = np.cov(features, rowvar=False)

    def features_and_logits(self, images):
        if images.dtype == np.uint8:
            images = images.astype("float32") / 127.5 - 1.0
        outputs = self.extractor.predict(images, batch_size=500, verbose=0)
        return outputs["features"].astype("float64"), outputs["logits"]

    def __call__(self, images):
        features, logits = self.features_and_logits(images)
        fid = evaluation.frechet_distance(
            features.mean(axis=0),
            np.cov(features, rowvar=False),
            self.mean,
            self.covariance,
        )
        kid_mean, kid_std = evaluation.kernel_inception_distance(
            features,
            self.reference,
            num_subsets=self.num_subsets,
            subset_size=min(1000, len(features), len(self.reference)),
            seed=self.seed,
        )
        logits = logits.astype("float64")
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        is_mean, is_std = evaluation.inception_score(probabilities, splits=10)
        return {
            "fid": float(fid),
            "kid": float(kid_mean),
            "kid_std": float(kid_std),
            "is_domain": float(is_mean),
            "is_domain_std": float(is_std),
        }


class Checkpoints(keras.callbacks.Callback):
    """Evaluates at the given steps inside one `fit`; times training alone."""

    def __init__(self, steps, evaluate, batch_size):
        super().__init__()
        self.steps = set(steps)
        self.evaluate = evaluate
        self.batch_size = batch_size
        self.records = []
        self.eval_seconds = 0.0
        self.eval_cpu = 0.0
        self.first_step_end = None
        self.first_step_cpu = None

    def on_train_batch_end(self, batch, logs=None):
        step = batch + 1
        logs = {k: float(np.asarray(v)) for k, v in (logs or {}).items()}
        if step == 1:
            self.first_step_end = time.perf_counter()
            self.first_step_cpu = cpu_seconds()
        if step in self.steps:
            start, cpu = time.perf_counter(), cpu_seconds()
            record = {"step": step, **self.evaluate(), "losses": logs}
            self.eval_seconds += time.perf_counter() - start
            self.eval_cpu += cpu_seconds() - cpu
            self.records.append(record)
            print(
                f"  step {step}: FID {record['fid']:.2f} KID {record['kid']:.4f}",
                flush=True,
            )


def build(name, args):
    config = dict(
        image_size=32,
        channels=3,
        width=args.width,
        z_dim=args.z_dim,
        loss=args.loss,
        n_disc=1,
        seed=args.gan_seed,
    )
    if name in CONDITIONAL:
        config["num_classes"] = 10
    if name == "s3gan":
        config["labeled_fraction"] = args.labeled_fraction
    return build_method(name, **config), config


def run_method(name, args, evaluator, train_path):
    keras.utils.set_random_seed(args.gan_seed)
    model, config = build(name, args)
    model.compile(jit_compile=args.jit_compile)
    dataset = ssl_data.load(
        train_path,
        split="train",
        batch_size=args.batch_size,
        shuffle=True,
        seed=args.gan_seed,
        repeat=True,
        drop_remainder=True,
    )

    def evaluate():
        return evaluator(model.generate(args.num_samples, seed=args.seed))

    records = []
    if 0 in args.steps:
        records.append({"step": 0, **evaluate(), "losses": {}})
        print(f"  step 0: FID {records[0]['fid']:.2f} KID {records[0]['kid']:.4f}")
    total_steps = args.steps[-1]
    timing = {}
    if total_steps > 0:
        callback = Checkpoints(args.steps, evaluate, args.batch_size)
        start = time.perf_counter()
        model.fit(
            dataset,
            steps_per_epoch=total_steps,
            epochs=1,
            verbose=0,
            callbacks=[callback],
        )
        end, cpu_end = time.perf_counter(), cpu_seconds()
        records += callback.records
        train_seconds = end - callback.first_step_end - callback.eval_seconds
        train_cpu = cpu_end - callback.first_step_cpu - callback.eval_cpu
        timed_steps = total_steps - 1
        timing = {
            "images_per_second": timed_steps * args.batch_size / train_seconds
            if timed_steps
            else None,
            "seconds_per_step": train_seconds / timed_steps if timed_steps else None,
            "cpu_seconds_per_step": train_cpu / timed_steps if timed_steps else None,
            "first_step_seconds": callback.first_step_end - start,
            "train_wall_seconds": train_seconds,
            "train_cpu_seconds": train_cpu,
            "eval_wall_seconds": callback.eval_seconds,
        }
    return {
        "config": config,
        "class": type(model).__name__,
        "generator_params": int(model.generator.count_params()),
        "discriminator_params": int(model.discriminator.count_params()),
        "checkpoints": records,
        "timing": timing,
    }


def _summary(seeds, steps):
    """Per method and step: FID and KID averaged over training seeds."""
    summary = {}
    names = sorted({name for methods in seeds.values() for name in methods})
    for name in names:
        runs = [methods[name] for methods in seeds.values() if name in methods]
        rows = {}
        for step in steps:
            points = [
                point
                for run in runs
                for point in run["checkpoints"]
                if point["step"] == step
            ]
            if not points:
                continue
            fids = [point["fid"] for point in points]
            kids = [point["kid"] for point in points]
            rows[str(step)] = {
                "fid_mean": float(np.mean(fids)),
                "fid_values": fids,
                "kid_mean": float(np.mean(kids)),
                "kid_values": kids,
            }
        speeds = [run["timing"]["images_per_second"] for run in runs if run["timing"]]
        cpu = [run["timing"]["cpu_seconds_per_step"] for run in runs if run["timing"]]
        summary[name] = {
            "seeds": len(runs),
            "by_step": rows,
            "images_per_second": speeds,
            "cpu_seconds_per_step": cpu,
        }
    return summary


def merge(paths, out, command):
    """One record from runs that each trained some of the methods."""
    records = []
    for path in paths:
        with open(path) as file:
            records.append(json.load(file))
    merged = dict(records[0])
    merged["methods"] = {}
    merged["seeds"] = {}
    merged["runs"] = []
    for record in records:
        if record["setup"]["steps"] != merged["setup"]["steps"]:
            raise ValueError(
                f"All runs must use the same steps. Received: "
                f"{record['setup']['steps']} and {merged['setup']['steps']}"
            )
        gan_seed = record["setup"].get("gan_seed", record["setup"]["seed"])
        merged["seeds"].setdefault(str(gan_seed), {}).update(record["methods"])
        if gan_seed == merged["setup"]["seed"]:
            merged["methods"].update(record["methods"])
        merged["runs"].append(
            {
                key: record.get(key)
                for key in (
                    "command",
                    "wall_seconds_total",
                    "cpu_seconds_total",
                    "load_average_now",
                )
            }
        )
    merged["setup"]["gan_seed"] = sorted(int(seed) for seed in merged["seeds"])
    merged["summary"] = _summary(merged["seeds"], merged["setup"]["steps"])
    merged["command"] = [run["command"] for run in merged["runs"]] + [command]
    merged["cpu_seconds_total"] = sum(
        run["cpu_seconds_total"] for run in merged["runs"]
    )
    merged["wall_seconds_total"] = max(
        run["wall_seconds_total"] for run in merged["runs"]
    )
    with open(out, "w") as file:
        json.dump(merged, file, indent=2)
    print(f"merged {', '.join(merged['methods'])} into {out}")


def main(argv=None):
    args = parse_args(argv)
    if args.merge:
        command = ".venv/bin/python tools/benchmark_gans.py " + " ".join(
            argv if argv is not None else sys.argv[1:]
        )
        merge(args.merge, args.out, command)
        return
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    load_start = list(os.getloadavg())
    train_path = os.path.join(args.data_dir, "train.zip")
    test_path = os.path.join(args.data_dir, "test.zip")

    print("domain classifier", flush=True)
    start, cpu = time.perf_counter(), cpu_seconds()
    train_x, train_y = ssl_data.load_arrays(
        train_path, split="train", limit=args.classifier_limit, seed=args.seed
    )
    classifier = evaluation.train_domain_classifier(
        (train_x, train_y),
        num_classes=10,
        epochs=args.classifier_epochs,
        width=args.classifier_width,
        seed=args.seed,
        verbose=2,
    )
    classifier_seconds = time.perf_counter() - start
    classifier_cpu = cpu_seconds() - cpu
    test_x, test_y = ssl_data.load_arrays(
        test_path, split="test", limit=args.reference_samples, seed=args.seed
    )
    logits = classifier.predict(test_x, batch_size=500, verbose=0)
    classifier_accuracy = float(np.mean(np.argmax(logits, axis=1) == test_y))
    print(f"  test accuracy {classifier_accuracy:.3f}", flush=True)
    evaluator = Evaluator(
        evaluation.domain_extractor(classifier), test_x, args.kid_subsets, args.seed
    )
    # load_arrays returns the subset grouped by class; a seeded permutation
    # makes the first num_samples a class-balanced random draw.
    order = np.random.default_rng(args.seed).permutation(len(train_x))
    real = evaluator(train_x[order[: args.num_samples]])
    print(f"  real train images: FID {real['fid']:.2f} KID {real['kid']:.4f}")
    del train_x, train_y

    record = {
        "benchmark": "GAN family on CIFAR-10: FID/KID (domain features) vs steps",
        "command": "nice -n 10 .venv/bin/python tools/benchmark_gans.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "setup": {
            "train_data": f"{train_path} (split train, 50,000 images, shuffled "
            f"with seed {args.gan_seed}, batch {args.batch_size}, no augmentation)",
            "reference": f"{args.reference_samples} CIFAR-10 test images "
            f"(seeded subset of {test_path})",
            "architecture": f"compare_gan CIFAR ResNet (resnet_cifar), D width "
            f"{args.width}, G width {2 * args.width} (paper: D 128, G 256), "
            f"z_dim {args.z_dim}",
            "loss": args.loss,
            "n_disc": 1,
            "optimizers": "the methods' default Adam(2e-4, beta_1 0.5, beta_2 0.999)",
            "batch_size": args.batch_size,
            "steps": args.steps,
            "seed": args.seed,
            "gan_seed": args.gan_seed,
            "labeled_fraction_s3gan": args.labeled_fraction,
            "jit_compile": args.jit_compile,
            "ema": None,
            "num_samples": args.num_samples,
            "kid": f"cubic polynomial kernel, {args.kid_subsets} subsets of "
            f"min(1000, N)",
            "domain_classifier": {
                "train_images": args.classifier_limit,
                "epochs": args.classifier_epochs,
                "width": args.classifier_width,
                "feature_dim": int(evaluator.reference.shape[1]),
                "test_accuracy": classifier_accuracy,
                "wall_seconds": classifier_seconds,
                "cpu_seconds": classifier_cpu,
            },
            "machine": {
                "platform": platform.platform(),
                "cpu_count": os.cpu_count(),
                "load_average_at_start": load_start,
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
            },
        },
        "real_train_images": dict(
            real,
            note=f"{args.num_samples} random train images from the domain "
            "classifier's training subset: the floor for this sample count",
        ),
        "methods": {},
    }

    def write():
        record["wall_seconds_total"] = time.perf_counter() - wall0
        record["cpu_seconds_total"] = cpu_seconds() - cpu0
        record["load_average_now"] = list(os.getloadavg())
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as file:
            json.dump(record, file, indent=2)

    write()
    for name in args.methods:
        print(f"{name}", flush=True)
        start, cpu = time.perf_counter(), cpu_seconds()
        result = run_method(name, args, evaluator, train_path)
        result["wall_seconds"] = time.perf_counter() - start
        result["cpu_seconds"] = cpu_seconds() - cpu
        record["methods"][name] = result
        timing = result["timing"]
        if timing:
            print(
                f"  {timing['images_per_second']:.0f} img/s, "
                f"{timing['cpu_seconds_per_step']:.2f} CPU s/step, "
                f"{result['cpu_seconds']:.0f} CPU s in all",
                flush=True,
            )
        write()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
