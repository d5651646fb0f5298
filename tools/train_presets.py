"""Write the zoo's recipe files and model cards, and train presets' weights.

    # zoo/<preset>/recipe.yaml (generated from keras_ssl/zoo/presets/<preset>.yaml,
    # the one source of each recipe) and MODEL_CARD.md for every preset
    python tools/train_presets.py write

    # train one preset with its recipe (optionally on a smaller budget),
    # measure it, and record the run in tools/results/<preset>.json
    nice -n 10 python tools/train_presets.py train rotnet_cifar10 \
        --data /path/to/cifar10/train.zip --steps 2000

    # ... and publish the weights: keras_ssl/zoo/weights/<preset>.weights.h5,
    # the preset's `weights` and `results`, zoo/<preset>/results.json
    nice -n 10 python tools/train_presets.py train rotnet_cifar10 --ship ...

A preset without shipped weights whose run is recorded in
tools/results/<preset>.json gets that run, labelled as such, in
zoo/<preset>/results.json and its model card when `write` runs.

Measured numbers only ever come from the run this script performs; the
model card states the budget that produced them.
"""

import argparse
import copy
import datetime
import json
import os
import platform
import shlex
import sys
import time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from keras_ssl import zoo  # noqa: E402
from keras_ssl.training.config import apply_overrides  # noqa: E402
from keras_ssl.zoo import registry, weights  # noqa: E402

RECIPE_HEADER = """\
# Generated from keras_ssl/zoo/presets/{name}.yaml (the one source of this
# recipe) by `python tools/train_presets.py write`; edit that file instead.
# Reproduce it with:
#   keras-ssl train --recipe {name} [--override section.key=value]
"""


def write_recipe(preset):
    folder = os.path.join(REPO, "zoo", preset.name)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "recipe.yaml")
    with open(path, "w", encoding="utf-8") as file:
        file.write(RECIPE_HEADER.format(name=preset.name))
        yaml.safe_dump(preset.recipe, file, sort_keys=False)
    return path


def _format_value(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def model_card(preset):
    recipe = preset.recipe
    train = recipe["train"]
    lines = [
        f"# {preset.name}",
        "",
        preset.description,
        "",
        f"- **Method**: `{preset.method}` — {preset.paper}",
        f"- **Architecture**: {preset.architecture}",
        f"- **Input**: float32 images (batch, {preset.image_size}, "
        f"{preset.image_size}, {preset.channels}) in [-1, 1]"
        + (f"; {preset.num_classes} classes" if preset.num_classes else ""),
        f"- **Data**: {preset.dataset} (recipe `data.source: "
        f"{recipe['data'].get('source')}`)",
        f"- **Recipe budget**: {train.get('steps', 'default')} steps at batch "
        f"{train.get('batch_size', 'default')} — "
        f"`keras-ssl train --recipe {preset.recipe_path}`",
        f"- **Optimizers**: {_describe_compile(recipe['compile'])}",
    ]
    if preset.notes:
        lines += ["", "## Recipe notes", ""]
        lines += [f"- {note}" for note in preset.notes]
    lines += ["", "## Weights", ""]
    unshipped = None if preset.weights is not None else unshipped_results(preset)
    if preset.weights is None and preset.original is not None:
        original = preset.original
        lines += [
            f"The authors' release, converted on first use: "
            f"{original.get('page') or original.get('url')} "
            f"(format `{original.get('format')}`, license "
            f"{original.get('license')}). `keras_ssl.zoo.load"
            f'("{preset.name}", weights="path/to/{original.get("filename")}")` '
            "converts and caches it.",
            "",
            "## Measured results",
            "",
            "Published by the authors (`original.published` of the preset).",
        ]
    elif preset.has_weights:
        source = {k: v for k, v in preset.weights.items() if k != "sha256"}
        lines += [
            f"Published: `{_format_value(source)}` (sha256 "
            f"`{preset.weights.get('sha256')}`). "
            f'`keras_ssl.zoo.load("{preset.name}")` loads them.',
            "",
            "## Measured results",
            "",
            "Measured by `tools/train_presets.py` on the run that produced the "
            "weights (see `results.json` for the full setup):",
            "",
        ]
        setup = preset.results.get("setup", {})
        for key, value in preset.results.get("metrics", {}).items():
            lines.append(f"- {key}: {_format_value(value)}")
        lines += ["", "Training run:", ""]
        for key, value in setup.items():
            lines.append(f"- {key}: {_format_value(value)}")
    else:
        lines += [
            "None published. `keras_ssl.zoo.load"
            f'("{preset.name}")` raises an error that says so; '
            f"`weights=None` builds the untrained architecture. Train with "
            f"`keras-ssl train --recipe {preset.recipe_path}` and load the run "
            f'with `keras_ssl.zoo.load("{preset.name}", weights=...)` or '
            "`keras-ssl sample|export|evaluate runs/<run>`.",
            "",
            "## Measured results",
            "",
        ]
        if unshipped is None:
            lines.append("None: no run of this recipe has been measured for the zoo.")
        else:
            lines += [
                f"{unshipped['label']} (`zoo/{preset.name}/results.json`, from "
                f"`{unshipped['source']}`):",
                "",
            ]
            for key, value in unshipped["metrics"].items():
                lines.append(f"- {key}: {_format_value(value)}")
            lines += [
                "",
                "Training run (`overrides` are its changes to the recipe above):",
                "",
            ]
            for key, value in unshipped["setup"].items():
                lines.append(f"- {key}: {_format_value(value)}")
            lines += ["", "Command:", "", f"    {unshipped['command']}"]
    lines += ["", "## Limitations", ""]
    if preset.has_weights:
        lines += [
            "- Trained and measured on the data above only; the representation "
            "or samples do not transfer to other domains without fine-tuning.",
            "- Numbers from a reduced budget are not comparable with the "
            "paper's; the budget is stated with every number.",
            "- The file holds the networks' weights, not the optimizers' state: "
            "`model.fit` after `zoo.load` continues with fresh optimizers.",
        ]
    else:
        lines.append(
            "- No trained weights: an untrained build is an architecture, not "
            "a pretrained model."
        )
    if preset.slow:
        lines.append(
            "- A large network: building it needs several GB of memory; "
            "training needs accelerators."
        )
    return "\n".join(lines) + "\n"


def _describe_compile(section):
    if not section:
        return "the method's defaults (`compile: {}`)"
    parts = []
    for key, value in section.items():
        if isinstance(value, dict) and "class_name" in value:
            config = dict(value.get("config", {}))
            rate = config.pop("learning_rate", None)
            if isinstance(rate, dict):
                rate = f"{rate['class_name']}({_format_value(rate.get('config', {}))})"
            args = ", ".join(f"{k}={_format_value(v)}" for k, v in config.items())
            parts.append(
                f"`{key}`: {value['class_name']}(learning_rate={rate}"
                + (f", {args})" if args else ")")
            )
        else:
            parts.append(f"`{key}`: {_format_value(value)}")
    return "; ".join(parts)


UNSHIPPED_LABEL = (
    "Reduced-budget run, no weights shipped: a check that the recipe's "
    "pipeline learns, measured with the setup below, not a reproduction of "
    "the recipe's full budget"
)


def _data_name(path):
    parts = os.path.normpath(path).replace(os.sep, "/").split("/")
    return "/".join(parts[-2:])


def _command_of(record):
    """The command that produced a tools/results record, checked against it."""
    command = record.get("command")
    if not command:
        raise SystemExit(
            f"tools/results/{record['preset']}.json records no 'command'; "
            "re-run it with this script (which records it)."
        )
    argv = shlex.split(command)
    start = next(i for i, a in enumerate(argv) if a.endswith("train_presets.py"))
    args = build_parser().parse_args(argv[start + 1 :])
    setup = record["setup"]
    # The shared data lies beside whichever checkout ran the command, so a
    # path is compared by its last two parts (e.g. cifar10-jpeg/train.zip).
    data = _data_name(args.data) if args.data else None
    recorded = _data_name(setup["data"])
    checks = {
        "preset": (args.preset, record["preset"]),
        "steps": (args.steps, setup["steps"]),
        "limit": (args.limit, setup.get("limit")),
        "overrides": (list(args.override), list(setup.get("overrides", []))),
        "data": (data, recorded),
        "baseline": (
            args.baseline,
            any(k.startswith("untrained_") for k in record["metrics"]),
        ),
    }
    if "eval_limit" in setup:
        checks["eval_limit"] = (args.eval_limit, setup["eval_limit"])
    wrong = {k: v for k, v in checks.items() if v[0] != v[1]}
    if wrong:
        raise SystemExit(
            f"The command recorded for {record['preset']} does not match its "
            f"setup (command, setup): {wrong}"
        )
    return command


def unshipped_results(preset):
    """The recorded run of a preset without weights, or None."""
    source = os.path.join("tools", "results", f"{preset.name}.json")
    path = os.path.join(REPO, source)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as file:
        record = json.load(file)
    return {
        "preset": preset.name,
        "label": UNSHIPPED_LABEL,
        "weights": None,
        "source": source,
        "command": _command_of(record),
        "metrics": record["metrics"],
        "setup": record["setup"],
    }


def write_results(preset):
    """zoo/<preset>/results.json of a preset without weights, if measured."""
    results = unshipped_results(preset)
    if results is None:
        return None
    path = os.path.join(REPO, "zoo", preset.name, "results.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as file:
        json.dump(results, file, indent=2)
        file.write("\n")
    return path


def write_card(preset):
    path = os.path.join(REPO, "zoo", preset.name, "MODEL_CARD.md")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as file:
        file.write(model_card(preset))
    return path


def write_all(names):
    for name in names:
        preset = zoo.get_preset(name)
        print(write_recipe(preset))
        if not preset.has_weights:
            results = write_results(preset)
            if results:
                print(results)
        print(write_card(preset))


def measure(model, preset, args):
    """The preset's metric on held-out data, as a dict."""
    from keras_ssl import data, evaluation

    # The shared CIFAR-10 copy keeps each split in its own archive.
    train_source = args.data or preset.recipe["data"]["source"]
    test_source = args.eval_data or train_source
    load = dict(image_size=preset.image_size, channels=preset.channels, seed=0)
    if callable(getattr(model, "generate", None)):
        train = data.load(train_source, split="train", limit=args.eval_limit, **load)
        test = data.load(
            test_source, split="test", limit=args.eval_limit, labeled=False, **load
        )
        extractor = evaluation.domain_extractor(
            evaluation.train_domain_classifier(train, seed=0, verbose=0)
        )
        value = evaluation.fid(
            model,
            test,
            extractor,
            num_samples=args.eval_limit,
            seed=0,
            verbose=False,
        )
        return {"fid_domain_features": value}, {
            "metric": "FID in the features of a domain classifier trained on "
            f"{args.eval_limit} train images; {args.eval_limit} generated vs "
            f"{args.eval_limit} test images",
        }
    encoder = zoo.feature_extractor(
        model, (preset.image_size, preset.image_size, preset.channels)
    )
    train = data.load(train_source, split="train", limit=args.eval_limit, **load)
    test = data.load(test_source, split="test", limit=args.eval_limit, **load)
    accuracy = evaluation.linear_probe(encoder, train, test, epochs=20, seed=0)
    return {"linear_probe_accuracy": accuracy}, {
        "metric": f"linear probe (frozen features, adaptive pooling) on "
        f"{args.eval_limit} train / {args.eval_limit} test images, 20 epochs",
    }


def train(args):
    from keras_ssl.training.runner import run

    preset = zoo.get_preset(args.preset)
    config = copy.deepcopy(preset.recipe)
    if args.data:
        config["data"]["source"] = args.data
    if args.limit:
        config["data"]["limit"] = args.limit
    if args.steps:
        config["train"]["steps"] = args.steps
    config = apply_overrides(config, args.override)
    if args.ship and config["model"] != preset.recipe["model"]:
        raise SystemExit(
            "--ship publishes weights for the preset's own architecture; "
            f"the overrides changed model to {config['model']}."
        )
    config["out"] = args.out or os.path.join(REPO, "runs", "presets", preset.name)
    if args.measure_only:
        # A finished run of this script: measure its final model again.
        import keras

        with open(os.path.join(config["out"], "summary.json"), encoding="utf-8") as f:
            summary = json.load(f)
        model = keras.saving.load_model(
            os.path.join(config["out"], "final", "model.keras"), compile=False
        )
        seconds = summary["seconds"]
    else:
        if args.ship and os.path.isdir(config["out"]) and os.listdir(config["out"]):
            # The runner would resume there, and the recorded time and
            # budget would not be those of the published run.
            raise SystemExit(
                f"--ship trains from scratch; {config['out']} already holds a "
                "run (remove it, pass another --out, or use --measure-only)."
            )
        started = time.time()
        summary = run(config)
        seconds = time.time() - started
        model = summary["model"]
    metrics, evaluation_setup = measure(model, preset, args)
    if args.baseline:
        # The same network untrained: what the training run adds.
        untrained = zoo.load(preset, weights=None, **config["model"])
        baseline, _ = measure(untrained, preset, args)
        metrics.update({f"untrained_{k}": v for k, v in baseline.items()})
    setup = {
        "steps": summary["steps"],
        "batch_size": config["train"]["batch_size"],
        "recipe_steps": preset.recipe["train"].get("steps"),
        "data": config["data"]["source"],
        "overrides": list(args.override),
        "limit": config["data"].get("limit"),
        "train_seconds": round(seconds, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        # Wall times are only comparable at similar load.
        "load_average_1min": round(os.getloadavg()[0], 1),
        "date": datetime.date.today().isoformat(),
        "eval_data": args.eval_data,
        "eval_limit": args.eval_limit,
        **evaluation_setup,
    }
    command = shlex.join(["python", os.path.relpath(__file__, REPO), *sys.argv[1:]])
    record = {
        "preset": preset.name,
        "command": command,
        "metrics": metrics,
        "setup": setup,
    }
    os.makedirs(os.path.join(REPO, "tools", "results"), exist_ok=True)
    path = os.path.join(REPO, "tools", "results", f"{preset.name}.json")
    with open(path, "w", encoding="utf-8") as file:
        json.dump(record, file, indent=2)
    print(json.dumps(record, indent=2))
    if args.ship:
        ship(preset, model, record)


def reference_output(model, preset):
    """Features of fixed inputs, so that a test can check the shipped file."""
    import numpy as np

    shape = (preset.image_size, preset.image_size, preset.channels)
    inputs = np.random.default_rng(0).uniform(-1, 1, (2, *shape)).astype("float32")
    features = np.asarray(zoo.feature_extractor(model, shape)(inputs)).reshape(-1)
    reference = {
        "inputs": "numpy default_rng(0).uniform(-1, 1, (2, H, W, C)), float32",
        "features_first": [float(v) for v in features[:8]],
        "features_sum": float(features.sum()),
    }
    if callable(getattr(model, "generate", None)):
        # The generator is what a GAN preset is loaded for: check it too.
        images = np.asarray(model.generate(8, seed=0)).astype("float64")
        reference.update(
            {
                "generate": "model.generate(8, seed=0), uint8",
                "generate_mean": float(images.mean()),
                "generate_first": [float(v) for v in images.reshape(-1)[:8]],
            }
        )
    return reference


def save_shipped_weights(model, path):
    """`model.save_weights(path)` without the optimizers' state.

    Adam's moments are twice the size of the network and only matter to
    resume the exact run; `zoo.load` compiles fresh optimizers.
    """
    import h5py
    import keras

    full = path.removesuffix(".weights.h5") + ".full.weights.h5"
    model.save_weights(full)
    try:
        with h5py.File(full, "r") as source, h5py.File(path, "w") as target:
            for key, value in source.attrs.items():
                target.attrs[key] = value
            for key in source:
                if isinstance(getattr(model, key, None), keras.optimizers.Optimizer):
                    continue
                source.copy(source[key], target, name=key)
    finally:
        os.remove(full)


def ship(preset, model, record):
    filename = f"{preset.name}.weights.h5"
    path = os.path.join(weights.WEIGHTS_DIR, filename)
    os.makedirs(weights.WEIGHTS_DIR, exist_ok=True)
    save_shipped_weights(model, path)
    digest = weights.sha256_of(path)
    size_mb = os.path.getsize(path) / 2**20
    if size_mb > 8:
        os.remove(path)
        raise SystemExit(f"{filename} is {size_mb:.1f} MB; too large to ship.")
    preset.weights = {"file": filename, "sha256": digest}
    preset.results = {
        "metrics": record["metrics"],
        "setup": record["setup"],
        "reference_output": reference_output(model, preset),
    }
    preset_path = os.path.join(registry.PRESETS_DIR, f"{preset.name}.yaml")
    with open(preset_path, "w", encoding="utf-8") as file:
        file.write(f"# The {preset.name} preset of keras_ssl.zoo.\n")
        file.write(preset.to_yaml())
    folder = os.path.join(REPO, "zoo", preset.name)
    os.makedirs(folder, exist_ok=True)
    write_recipe(preset)
    with open(os.path.join(folder, "results.json"), "w", encoding="utf-8") as file:
        json.dump({**record, "weights": preset.weights}, file, indent=2)
    write_card(preset)
    print(f"shipped {path} ({size_mb:.2f} MB, sha256 {digest})")


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    actions = parser.add_subparsers(dest="action", required=True)
    writer = actions.add_parser("write", help="write recipe.yaml and MODEL_CARD.md")
    writer.add_argument("names", nargs="*", help="presets (default: all)")
    trainer = actions.add_parser("train", help="train, measure, optionally ship")
    trainer.add_argument("preset")
    trainer.add_argument("--data", default=None, help="training data source")
    trainer.add_argument("--eval-data", default=None, help="evaluation source")
    trainer.add_argument("--steps", type=int, default=None, help="override steps")
    trainer.add_argument("--limit", type=int, default=None, help="training subset")
    trainer.add_argument("--eval-limit", type=int, default=2000)
    trainer.add_argument("--out", default=None, help="run folder")
    trainer.add_argument(
        "--override",
        action="append",
        default=[],
        help="recipe override section.key=value (as keras-ssl train)",
    )
    trainer.add_argument(
        "--baseline", action="store_true", help="also measure the untrained network"
    )
    trainer.add_argument(
        "--measure-only",
        action="store_true",
        help="measure the finished run in --out instead of training",
    )
    trainer.add_argument("--ship", action="store_true", help="publish the weights")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.action == "write":
        names = args.names or [
            n
            for n in zoo.list_presets()
            if os.path.isfile(os.path.join(registry.PRESETS_DIR, f"{n}.yaml"))
        ]
        write_all(names)
    else:
        train(args)


if __name__ == "__main__":
    main()
