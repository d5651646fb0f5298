"""Benchmark of the FID Inception network (keras_ssl.architectures.fid_inception).

1. Agreement with pytorch-fid: the fixture in ../shared/reference/fid_inception
   (pytorch-fid 0.3.0's own network, with the README's seeded fill-rule
   weights) converted with the "pytorch_fid_inception" format; max abs and
   relative differences of pool3, logits and block means.
2. Feature extraction speed on CPU: images per second of the FID Inception
   network and, as the baseline in the same run, of Keras' InceptionV3
   (both at random weights: the same compute as with trained weights), on
   CIFAR-10 test images resized to 299x299.
3. FID of a CIFAR-10 train subset against a test subset: in domain features
   (a small classifier trained on other train images) and with the FID
   architecture at random weights (for the timing only: the value means
   nothing without the released weights).

Writes tools/results/fid_inception.json.

    nice -n 10 .venv/bin/python tools/benchmark_fid_inception.py
"""

import argparse
import json
import os
import pathlib
import platform
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_ssl import convert, data, evaluation  # noqa: E402
from keras_ssl.architectures.fid_inception import fid_inception_v3  # noqa: E402
from tests.convert.reference_fixtures import (  # noqa: E402
    fid_comparisons,
    fid_outputs,
    fid_state_dict,
    load_npz,
    relative_difference,
)

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "cifar10-jpeg"
REFERENCE = ROOT.parent / "shared" / "reference" / "fid_inception"


def fixture_agreement():
    state = fid_state_dict(REFERENCE / "state_dict_keys.json")
    network = convert.convert("pytorch_fid_inception", state, fid_inception_v3())
    reference = load_npz(REFERENCE / "fid_inception.npz")
    result = {}
    for size, out in fid_outputs(network, reference).items():
        result[size] = {
            name: {
                "max_abs_diff": float(np.abs(ours - ref.astype(np.float64)).max()),
                "max_abs_ref": float(np.abs(ref).max()),
                "relative": relative_difference(ours, ref),
            }
            for name, (ours, ref) in fid_comparisons(out, reference, size).items()
        }
        print(size, {k: f"{v['max_abs_diff']:.2e}" for k, v in result[size].items()})
    return result


def time_extractor(network, images, batch_size):
    network.predict_on_batch(images[:batch_size])  # trace / warm up
    start, cpu = time.time(), time.process_time()
    for i in range(0, len(images), batch_size):
        network.predict_on_batch(images[i : i + batch_size])
    wall, used = time.time() - start, time.process_time() - cpu
    return {
        "images": len(images),
        "batch_size": batch_size,
        "wall_seconds": wall,
        "cpu_seconds": used,
        "images_per_second": len(images) / wall,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument("--timing-images", type=int, default=64)
    parser.add_argument("--fid-images", type=int, default=2000)
    parser.add_argument("--architecture-fid-images", type=int, default=500)
    parser.add_argument("--classifier-images", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--output", default=str(ROOT / "tools" / "results" / "fid_inception.json")
    )
    args = parser.parse_args()
    wall0, cpu0 = time.time(), time.process_time()
    load_start = os.getloadavg()
    train_zip = os.path.join(args.data_dir, "train.zip")
    test_zip = os.path.join(args.data_dir, "test.zip")

    agreement = fixture_agreement()

    train_x, train_y = data.load_arrays(
        train_zip,
        split="train",
        limit=args.classifier_images + args.fid_images,
        seed=args.seed,
    )
    test_x, _ = data.load_arrays(
        test_zip, split="test", limit=args.fid_images, seed=args.seed
    )
    print(f"train {train_x.shape}, test {test_x.shape}", flush=True)

    keras.utils.set_random_seed(args.seed)
    fid_net = evaluation.fid_inception_extractor(weights=None)
    keras_net = evaluation.inception_extractor(weights=None)
    timing_images = test_x[: args.timing_images]
    timing = {
        "fid_inception": time_extractor(fid_net, timing_images, args.batch_size),
        "inception_keras_baseline": time_extractor(
            keras_net, timing_images, args.batch_size
        ),
    }
    timing["ratio_fid_inception_over_keras"] = (
        timing["fid_inception"]["images_per_second"]
        / timing["inception_keras_baseline"]["images_per_second"]
    )
    print(json.dumps(timing, indent=2), flush=True)
    del keras_net

    # Domain features: classifier on the first images, FID on the others.
    start, cpu = time.time(), time.process_time()
    classifier = evaluation.train_domain_classifier(
        (train_x[: args.classifier_images], train_y[: args.classifier_images]),
        epochs=args.epochs,
        width=args.width,
        seed=args.seed,
        use_cache=False,
        verbose=2,
    )
    classifier_seconds = time.time() - start
    fid_train = train_x[args.classifier_images :]
    domain = evaluation.domain_extractor(classifier)
    start, cpu = time.time(), time.process_time()
    fid_domain = evaluation.fid(
        fid_train, test_x, domain, batch_size=500, verbose=False
    )
    domain_fid = {
        "fid": fid_domain,
        "images_per_side": len(fid_train),
        "wall_seconds": time.time() - start,
        "cpu_seconds": time.process_time() - cpu,
        "classifier_training_seconds": classifier_seconds,
    }
    print("domain", domain_fid, flush=True)

    n = args.architecture_fid_images
    start, cpu = time.time(), time.process_time()
    train_stats = evaluation.compute_statistics(
        fid_train[:n], fid_net, batch_size=args.batch_size, verbose=False
    )
    fid_random = evaluation.fid(
        test_x[:n], train_stats, fid_net, batch_size=args.batch_size, verbose=False
    )
    architecture_fid = {
        "fid_random_weights_meaningless": fid_random,
        "images_per_side": n,
        "wall_seconds": time.time() - start,
        "cpu_seconds": time.process_time() - cpu,
        "images_per_second": 2 * n / (time.time() - start),
    }
    print("architecture", architecture_fid, flush=True)

    result = {
        "setup": {
            "command": "nice -n 10 .venv/bin/python tools/benchmark_fid_inception.py",
            "data": "shared CIFAR-10 JPEG copy via keras_ssl.data.load_arrays, "
            f"seeded subsets (seed {args.seed}): train {len(train_x)} "
            f"(first {args.classifier_images} train the domain classifier, the "
            f"other {len(fid_train)} are the FID's train side), test {len(test_x)}",
            "domain_classifier": {
                "epochs": args.epochs,
                "width": args.width,
                "feature_dim": 4 * args.width,
                "train_images": args.classifier_images,
            },
            "machine": f"{os.cpu_count()} CPU cores shared with other jobs, "
            f"{platform.processor() or platform.machine()}",
            "load_average_at_start": [round(v, 2) for v in load_start],
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
        "fixture_agreement": agreement,
        "cpu_feature_extraction": timing,
        "fid_cifar10_train_vs_test_domain": domain_fid,
        "fid_cifar10_train_vs_test_fid_architecture_random": architecture_fid,
        "total": {
            "wall_seconds": time.time() - wall0,
            "cpu_seconds": time.process_time() - cpu0,
        },
    }
    pathlib.Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    with open(args.output, "w") as file:
        json.dump(result, file, indent=2)
    print(json.dumps(result["total"], indent=2))


if __name__ == "__main__":
    main()
