"""RotNet with the published CIFAR-10 settings, at a budget this machine allows.

Gidaris, Singh & Komodakis (ICLR 2018), config CIFAR10_RotNet_NIN4blocks of
their code: 4-block NIN, all four rotations of each image, batch 128 images,
SGD Nesterov momentum 0.9, lr 0.1 x 0.2 at 30/60/80% of training (epochs
60/120/160 of 200), weight decay 5e-4 coupled to the gradient
(`CoupledWeightDecaySGD`), random crops (4-pixel zero padding) and flips,
inputs normalised with the CIFAR mean / std. Then the paper's evaluation
(config CIFAR10_ConvClassifier_on_RotNet_NIN4blocks_Conv2_feats): the NIN
conv-block classifier on frozen block-2 features (`conv_block_classifier`),
next to a linear probe on block 2 and the same two evaluations of the random
encoder. What is reduced (width, images, epochs) is written into the JSON.

    nice -n 10 .venv/bin/python tools/rotnet_published.py --width 32 \
        --train-limit 10000 --classifier-limit 5000 --test-limit 2000 \
        --epochs 4 --classifier-epochs 5 --probe-epochs 15
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
import tensorflow as tf  # noqa: E402

from keras_ssl.architectures.nin import nin_encoder  # noqa: E402
from keras_ssl.convert.rotnet import CIFAR_MEAN, CIFAR_STD  # noqa: E402
from keras_ssl.data import load_arrays  # noqa: E402
from keras_ssl.evaluation import conv_block_classifier, linear_probe  # noqa: E402
from keras_ssl.evaluation.conv_classifier import _augment  # noqa: E402
from keras_ssl.methods.rotnet import RotNet  # noqa: E402
from keras_ssl.training.coupled_weight_decay import CoupledWeightDecaySGD  # noqa: E402

CIFAR = ROOT.parent / "shared" / "data" / "cifar10-jpeg"
RESULTS = ROOT / "tools" / "results" / "rotnet_published.json"


def encoder_for(args):
    return nin_encoder(
        (32, 32, 3),
        num_blocks=4,
        width=args.width,
        input_mean=CIFAR_MEAN,
        input_std=CIFAR_STD,
    )


def evaluate(encoder, train, test, args):
    start = time.process_time()
    conv = conv_block_classifier(
        encoder,
        train,
        test,
        layer="block2",
        epochs=args.classifier_epochs,
        batch_size=128,
        seed=0,
    )
    linear = linear_probe(
        encoder, train, test, layers="block2", epochs=args.probe_epochs, seed=0
    )
    return {
        "conv_block_classifier_block2": round(conv["accuracy"], 4),
        "conv_block_classifier_steps": conv["steps"],
        "linear_probe_block2": round(float(next(iter(linear.values()))), 4),
        "evaluation_cpu_seconds": round(time.process_time() - start, 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--train-limit", type=int, default=5000)
    parser.add_argument("--test-limit", type=int, default=2000)
    parser.add_argument(
        "--classifier-limit",
        type=int,
        default=None,
        help="labelled training images of the evaluations (default: the "
        "--train-limit images of the pretext task)",
    )
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--classifier-epochs", type=int, default=8)
    parser.add_argument("--probe-epochs", type=int, default=15)
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args(argv)
    start_all = time.process_time()
    keras.utils.set_random_seed(0)
    train = load_arrays(
        str(CIFAR / "train.zip"),
        split="train",
        image_size=32,
        limit=args.train_limit,
        seed=0,
    )
    test = load_arrays(
        str(CIFAR / "test.zip"),
        split="test",
        image_size=32,
        limit=args.test_limit,
        seed=0,
    )
    labelled = train
    if args.classifier_limit not in (None, args.train_limit):
        labelled = load_arrays(
            str(CIFAR / "train.zip"),
            split="train",
            image_size=32,
            limit=args.classifier_limit,
            seed=0,
        )
    classifier_images = len(labelled[0])
    results = {
        "command": "nice -n 10 .venv/bin/python tools/rotnet_published.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "paper": {
            "conv_block_classifier_block2": 0.8906,
            "setup": "NIN width 192, 50,000 images, 200 RotNet epochs, "
            "100 classifier epochs",
        },
        "setup": {
            "encoder": f"nin_encoder(num_blocks=4, width={args.width}) with the "
            "authors' input normalisation",
            "pretext": f"{args.train_limit} CIFAR-10 train images, {args.epochs} "
            "epochs, batch 128 x 4 rotations, CoupledWeightDecaySGD(0.1, Nesterov "
            "0.9, wd 5e-4), lr x0.2 at 30/60/80% of the steps, crop+flip",
            "evaluation": f"conv_block_classifier on block2, {args.classifier_epochs}"
            " epochs (authors' schedule scaled), and linear_probe on block2, "
            f"{args.probe_epochs} epochs; fitted on {classifier_images} labelled "
            "CIFAR-10 train images (a seeded subset, seed 0), tested on "
            f"{args.test_limit} CIFAR-10 test images",
            "machine": f"{platform.machine()}, {os.cpu_count()} shared CPU cores, "
            f"TensorFlow {tf.__version__}, Keras {keras.__version__}",
        },
    }
    start = time.process_time()
    model = RotNet(encoder_for(args))
    steps_per_epoch = args.train_limit // 128
    total = steps_per_epoch * args.epochs
    boundaries = [max(1, int(total * f)) for f in (0.3, 0.6, 0.8)]
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
        boundaries, [0.1, 0.02, 0.004, 0.0008]
    )
    model.compile(
        CoupledWeightDecaySGD(schedule, momentum=0.9, nesterov=True, weight_decay=5e-4)
    )
    seeds = tf.data.Dataset.random(seed=0).batch(2)
    data = (
        tf.data.Dataset.zip(
            (
                tf.data.Dataset.from_tensor_slices(train[0]).shuffle(
                    len(train[0]), seed=0, reshuffle_each_iteration=True
                ),
                seeds,
            )
        )
        .map(_augment, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(128, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )
    history = model.fit(data, epochs=args.epochs, verbose=2)
    heldout = model.evaluate(test[0][:512], batch_size=128, verbose=0, return_dict=True)
    results["rotnet"] = {
        "steps": total,
        "train_pretext_accuracy_last_epoch": round(
            float(history.history["pretext_accuracy"][-1]), 4
        ),
        "heldout_pretext_accuracy": round(float(heldout["pretext_accuracy"]), 4),
        "pretext_cpu_seconds": round(time.process_time() - start, 1),
        **evaluate(model.encoder, labelled, test, args),
    }
    print(json.dumps(results["rotnet"]), flush=True)
    # Written now too, so that a long run leaves its RotNet numbers behind.
    _write(results, args.output)
    keras.utils.set_random_seed(0)
    results["random_encoder"] = evaluate(encoder_for(args), labelled, test, args)
    print(json.dumps(results["random_encoder"]), flush=True)
    results["cpu_seconds_total"] = round(time.process_time() - start_all, 1)
    _write(results, args.output)
    return 0


def _write(results, output):
    path = pathlib.Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
