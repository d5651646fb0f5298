"""Fine-tuning a shipped preset with `zoo.classifier`'s default recipe, on digits.

Trains three classifiers for `--epochs` on scikit-learn's digits train split
(1438 images, 32x32 grey) and reports test accuracy (359 images): the
`ssgan_digits` preset fine-tuned, the same architecture from random weights
(same recipe), and the preset frozen (a linear head on standardised
features); and, as the reference for the frozen one, scikit-learn's
logistic regression on the standardised frozen features.

    nice -n 10 python tools/benchmark_fine_tuning.py --epochs 10

Writes tools/results/fine_tuning_digits.json.
"""

import argparse
import importlib
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_ssl import data, zoo  # noqa: E402

# The module (keras_ssl.zoo's `classifier` attribute is the function).
recipe = importlib.import_module("keras_ssl.zoo.classifier")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--preset", default="ssgan_digits")
    parser.add_argument(
        "--out",
        default=os.path.join(ROOT, "tools", "results", "fine_tuning_digits.json"),
    )
    args = parser.parse_args(argv)
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    preset = zoo.get_preset(args.preset)
    shape = {"image_size": preset.image_size, "channels": preset.channels}
    x, y = data.load_arrays("digits", split="train", **shape)
    xt, yt = data.load_arrays("digits", split="test", **shape)
    results, seconds = {}, {}
    runs = {
        "pretrained_fine_tuned": {},
        "random_init_fine_tuned": {"weights": None},
        "pretrained_frozen": {"freeze_encoder": True},
    }
    for name, options in runs.items():
        keras.utils.set_random_seed(0)
        started = time.perf_counter()
        model = zoo.classifier(args.preset, 10, **options)
        model.fit(x, y, batch_size=64, epochs=args.epochs, verbose=0)
        predicted = model.predict(xt, verbose=0).argmax(-1)
        results[name] = float(np.mean(predicted == yt))
        seconds[name] = round(time.perf_counter() - started, 1)
        print(name, results[name], flush=True)
    trunk = zoo.feature_extractor(zoo.load(args.preset))
    features, test_features = trunk.predict(x, verbose=0), trunk.predict(xt, verbose=0)
    scaler = StandardScaler().fit(features)
    regression = LogisticRegression(max_iter=2000).fit(scaler.transform(features), y)
    results["logistic_regression_on_frozen_features"] = float(
        regression.score(scaler.transform(test_features), yt)
    )
    record = {
        "command": f"python tools/benchmark_fine_tuning.py --epochs {args.epochs}",
        "preset": args.preset,
        "recipe": {
            "optimizer": "SGD momentum 0.9",
            "head_learning_rate": recipe.HEAD_LEARNING_RATE,
            "trunk_learning_rate": recipe.TRUNK_LEARNING_RATE,
            "warmup_steps": recipe.WARMUP_STEPS,
            "batch_size": 64,
            "epochs": args.epochs,
        },
        "test_accuracy": results,
        "seconds": seconds,
        "machine": f"{os.uname().machine}, {os.cpu_count()} CPU cores",
        "load_average_1min": round(os.getloadavg()[0], 1),
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as file:
        json.dump(record, file, indent=2)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
