"""Benchmark of keras_ssl.evaluation on the shared CIFAR-10 copy.

Trains the offline domain classifier on the CIFAR-10 train split (or loads it
from the cache), reports its test accuracy, then measures "FID (domain
features)" and KID:

- test split against the train split (the floor for real images),
- a 10,000-image train subset against the whole train split, clean and
  blurred / noised at three strengths each (must grow monotonically),

and the time per 10,000 images of feature extraction. Writes
tools/results/evaluation.json.

    nice -n 10 .venv/bin/python tools/benchmark_evaluation.py
"""

import argparse
import json
import os
import pathlib
import platform
import resource
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from scipy import ndimage  # noqa: E402

from keras_ssl import data  # noqa: E402
from keras_ssl.evaluation import (  # noqa: E402
    compute_statistics,
    default_cache_dir,
    domain_extractor,
    extract_features,
    frechet_distance,
    inception_extractor,
    inception_score_of,
    kernel_inception_distance,
    train_domain_classifier,
)

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "cifar10-jpeg"
BLUR_SIGMAS = (0.5, 1.0, 2.0)  # Gaussian blur, pixels
NOISE_STDS = (0.05, 0.1, 0.2)  # Gaussian noise, in [-1, 1] units


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def blur(images, sigma):
    return ndimage.gaussian_filter(images, sigma=(0, sigma, sigma, 0)).astype(
        np.float32
    )


def add_noise(images, std, seed):
    rng = np.random.default_rng(seed)
    noisy = images + std * rng.normal(size=images.shape).astype(np.float32)
    return np.clip(noisy, -1, 1).astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--subset", type=int, default=10000)
    parser.add_argument("--inception-images", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-limit", type=int, default=None, help="smoke runs only")
    parser.add_argument(
        "--output", default=str(ROOT / "tools" / "results" / "evaluation.json")
    )
    args = parser.parse_args()
    wall0, cpu0 = time.time(), cpu_seconds()
    load_start = os.getloadavg()
    train_zip = os.path.join(args.data_dir, "train.zip")
    test_zip = os.path.join(args.data_dir, "test.zip")

    start = time.time()
    train_x, train_y = data.load_arrays(
        train_zip, split="train", limit=args.train_limit, seed=args.seed
    )
    decode_seconds = time.time() - start
    print(f"decoded {len(train_y)} train images in {decode_seconds:.1f}s", flush=True)

    cache_dir = default_cache_dir()
    cached_before = set(os.listdir(cache_dir)) if os.path.isdir(cache_dir) else set()
    start, cpu = time.time(), cpu_seconds()
    model = train_domain_classifier(
        (train_x, train_y),
        epochs=args.epochs,
        width=args.width,
        batch_size=args.batch_size,
        seed=args.seed,
        verbose=2,
    )
    train_seconds, train_cpu = time.time() - start, cpu_seconds() - cpu
    from_cache = set(os.listdir(cache_dir)) == cached_before
    print(f"classifier ready in {train_seconds:.0f}s", flush=True)

    test_ds = data.load(test_zip, split="test", batch_size=500)
    _, test_accuracy = model.evaluate(test_ds, verbose=0)
    print(f"domain classifier test accuracy {test_accuracy:.4f}", flush=True)
    extractor = domain_extractor(model)

    train_stats = compute_statistics(
        train_x, extractor, batch_size=500, keep_features=args.subset, verbose=True
    )
    start = time.time()
    test_stats = compute_statistics(
        test_ds, extractor, batch_size=500, keep_features=10000, verbose=False
    )
    stream_seconds = time.time() - start
    test_x, _ = data.load_arrays(test_zip, split="test")
    start, cpu = time.time(), cpu_seconds()
    extract_features(test_x, extractor, batch_size=500, verbose=False)
    extract_seconds, extract_cpu = time.time() - start, cpu_seconds() - cpu
    per_10k = extract_seconds * 10000 / len(test_x)

    def kid_against_train(features):
        return kernel_inception_distance(
            features,
            train_stats.features,
            num_subsets=100,
            subset_size=min(1000, len(features), len(train_stats.features)),
            seed=args.seed,
        )

    def fid_against_train(features):
        return frechet_distance(
            features.mean(0),
            np.cov(features, rowvar=False),
            train_stats.mean,
            train_stats.covariance,
        )

    floor_fid = frechet_distance(
        test_stats.mean,
        test_stats.covariance,
        train_stats.mean,
        train_stats.covariance,
    )
    floor_kid = kid_against_train(test_stats.features)
    print(f"FID test vs train {floor_fid:.3f}", flush=True)

    order = np.random.default_rng(args.seed).permutation(len(train_y))
    subset = train_x[order[: args.subset]]
    rows = []

    def measure(kind, strength, images):
        features = extract_features(images, extractor, batch_size=500, verbose=False)
        value = fid_against_train(features.astype(np.float64))
        kid_mean, kid_std = kid_against_train(features)
        rows.append(
            {
                "corruption": kind,
                "strength": strength,
                "fid": value,
                "kid": kid_mean,
                "kid_std": kid_std,
            }
        )
        print(f"{kind} {strength}: FID {value:.3f} KID {kid_mean:.5f}", flush=True)

    measure("none", 0.0, subset)
    for sigma in BLUR_SIGMAS:
        measure("gaussian_blur_sigma_px", sigma, blur(subset, sigma))
    for std in NOISE_STDS:
        measure("gaussian_noise_std", std, add_noise(subset, std, args.seed))

    def monotone(kind):
        values = [r["fid"] for r in rows if r["corruption"] in ("none", kind)]
        return bool(all(a < b for a, b in zip(values, values[1:])))

    inception = {}
    if args.inception_images:
        # Random weights: the compute is that of the real network, the values
        # mean nothing, so only the time is reported.
        net = inception_extractor(weights=None)
        images = test_x[: args.inception_images]
        extract_features(images[:8], net, batch_size=8, verbose=False)
        start = time.time()
        extract_features(images, net, batch_size=32, verbose=False)
        seconds = time.time() - start
        inception = {
            "images_timed": len(images),
            "seconds_per_10k_images_extrapolated": seconds * 10000 / len(images),
        }
        inception_score_of(images[:32], net, splits=1, verbose=False)

    result = {
        "setup": {
            "command": "nice -n 10 .venv/bin/python tools/benchmark_evaluation.py",
            "data": "shared CIFAR-10 JPEG copy, train 50,000 / test 10,000, via "
            "keras_ssl.data (load_arrays for train, load for the test stream)",
            "domain_classifier": {
                "epochs": args.epochs,
                "width": args.width,
                "feature_dim": 4 * args.width,
                "batch_size": args.batch_size,
                "augment": "random flip + 1/8 translation",
                "optimizer": "Adam 2e-3, cosine decay",
                "seed": args.seed,
            },
            "subset_for_corruptions": args.subset,
            "kid": "100 subsets of 1000, reference = 10,000 train features",
            "machine": f"{os.cpu_count()} CPU cores shared with other jobs, "
            f"{platform.processor() or platform.machine()}",
            "load_average_at_start": [round(v, 2) for v in load_start],
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
        "domain_classifier_test_accuracy": float(test_accuracy),
        "domain_classifier_training": {
            "wall_seconds": train_seconds,
            "cpu_seconds": train_cpu,
            "from_cache": from_cache,
            "note": "times include hashing the data for the cache key; when "
            "from_cache is true they are the cache look-up, not training",
        },
        "fid_domain_test_vs_train": floor_fid,
        "kid_domain_test_vs_train": {"mean": floor_kid[0], "std": floor_kid[1]},
        "train_subset_vs_train": rows,
        "fid_monotone": {
            "blur": monotone("gaussian_blur_sigma_px"),
            "noise": monotone("gaussian_noise_std"),
        },
        "timing": {
            "domain_features_seconds_per_10k_images": per_10k,
            "domain_features_cpu_seconds_per_10k_images": extract_cpu
            * 10000
            / len(test_x),
            "domain_features_batch_size": 500,
            "test_stream_decode_and_extract_seconds_10k": stream_seconds,
            "train_decode_seconds_50k": decode_seconds,
            "inception_v3_299": inception,
        },
        "total": {
            "wall_seconds": time.time() - wall0,
            "cpu_seconds": cpu_seconds() - cpu0,
        },
    }
    pathlib.Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    with open(args.output, "w") as file:
        json.dump(result, file, indent=2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
