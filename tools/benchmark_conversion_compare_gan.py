"""Measure the compare_gan conversions: sizes, time, memory, fixture errors.

    nice -n 10 .venv/bin/python tools/benchmark_conversion_compare_gan.py

writes tools/results/conversion_compare_gan.json with
- `parameters`: trainable (and all) parameter counts of our full-size
  networks per compare_gan scope, beside the counts compare_gan's own code
  gives (../shared/reference/compare_gan/manifest.json);
- `conversion`: for each full-size preset network, random weights written
  under compare_gan's names as a TF-Hub module folder, then converted into
  a fresh network: seconds to build, to write, to convert, and the peak
  resident memory of the process (one subprocess per preset);
- `fixtures`: the max abs difference of every output and every changed
  state variable against each fixture made with compare_gan's code.
"""

import argparse
import json
import os
import pathlib
import platform
import resource
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference" / "compare_gan"
sys.path.insert(0, str(ROOT))

NETWORKS = {
    "resnet_cifar G (sBN, z 128, 256 ch)": (
        "generator",
        {"image_size": 32, "style": "resnet_cifar", "normalization": "self_modulated"},
    ),
    "resnet_cifar D (SN, 128 ch) + SS-GAN rotation head": (
        "discriminator",
        {"image_size": 32, "style": "resnet_cifar", "rotation_head": True},
    ),
    "resnet5 G (ch 64, sBN, z 128)": (
        "generator",
        {"image_size": 128, "style": "resnet5", "normalization": "self_modulated"},
    ),
    "resnet5 D (ch 64, SN) + SS-GAN rotation head": (
        "discriminator",
        {"image_size": 128, "style": "resnet5", "rotation_head": True},
    ),
    "resnet_biggan G (ch 96, 1000 classes, z 120, cBN, SN)": (
        "generator",
        {
            "image_size": 128,
            "z_dim": 120,
            "num_classes": 1000,
            "style": "resnet_biggan",
        },
    ),
    "resnet_biggan D (ch 96, 1000 classes, project_y=True, SN) + S3GAN heads": (
        "discriminator",
        {
            "image_size": 128,
            "num_classes": 1000,
            "style": "resnet_biggan",
            "rotation_head": True,
            "class_head": True,
        },
    ),
}
# The preset networks an `original` loads into (the S3GAN presets share one).
PRESETS = {
    "ssgan_imagenet": "resnet5 G (ch 64, sBN, z 128)",
    "s3gan_imagenet_2_5, s3gan_imagenet_5, s3gan_imagenet_10, s3gan_imagenet_20": (
        "resnet_biggan G (ch 96, 1000 classes, z 120, cBN, SN)"
    ),
}


def _build(kind, config):
    from keras_ssl.architectures import resnet_discriminator, resnet_generator

    config = dict(config)
    size = config.pop("image_size")
    build = resnet_generator if kind == "generator" else resnet_discriminator
    return build(size, **config)


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure_conversion(label):
    """In this (child) process: build, write, convert, check; print JSON."""
    import keras
    import numpy as np

    from keras_ssl.architectures import compare_gan_resnet
    from keras_ssl.convert.compare_gan import (
        convert_compare_gan,
        network_values,
        save_compare_gan_checkpoint,
    )
    from tests.convert.reference_fixtures import compare_gan_counts

    # The values come from the checkpoint, so the networks are built with
    # zero initialisers: an orthogonal 13824 x 1536 kernel costs seconds each.
    compare_gan_resnet.Builder.init = lambda self: keras.initializers.Zeros()
    kind, config = NETWORKS[label]
    start = time.perf_counter()
    source = _build(kind, config)
    build_seconds = time.perf_counter() - start
    rng = np.random.default_rng(0)
    values = {
        k: (v + rng.normal(size=v.shape).astype(v.dtype)) if v.dtype.kind == "f" else v
        for k, v in network_values(source).items()
    }
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        save_compare_gan_checkpoint(
            values, os.path.join(folder, "variables", "variables")
        )
        write_seconds = time.perf_counter() - start
        size = sum(p.stat().st_size for p in pathlib.Path(folder).rglob("*"))
        target = _build(kind, config)
        before = _peak_mb()
        start = time.perf_counter()
        convert_compare_gan(folder, target)
        convert_seconds = time.perf_counter() - start
    after = _peak_mb()
    loaded = network_values(target)
    error = max(float(np.abs(loaded[k] - values[k]).max()) for k in values)
    print(
        json.dumps(
            {
                "network": label,
                "counts": compare_gan_counts(target),
                "build_seconds": round(build_seconds, 2),
                "write_checkpoint_seconds": round(write_seconds, 2),
                "convert_seconds": round(convert_seconds, 2),
                "checkpoint_bytes": size,
                "peak_rss_mb_before_convert": round(before, 1),
                "peak_rss_mb_after_convert": round(after, 1),
                "max_abs_difference_after_round_trip": error,
            }
        )
    )


def fixture_errors():
    import numpy as np

    from keras_ssl.convert.compare_gan import convert_compare_gan
    from tests.convert import reference_fixtures as fixtures

    def max_error(pairs):
        return max(float(np.abs(ours - theirs).max()) for ours, theirs in pairs)

    generators = fixtures.COMPARE_GAN_GENERATORS
    results = {}
    for name, build in {**generators, **fixtures.COMPARE_GAN_DISCRIMINATORS}.items():
        data, meta = fixtures.compare_gan_fixture(REFERENCE / f"{name}.npz")
        entry = {}
        if name in generators:
            for mode in ("inference", "training"):
                network = convert_compare_gan(data, build())
                images = fixtures.compare_gan_generator_images(
                    network, data, meta, mode
                )
                state = fixtures.compare_gan_state(network, data, mode)
                entry[mode] = {
                    "images (ours = 2 x original - 1)": max_error([images]),
                    "state after the pass": max_error(state.values()),
                }
        else:
            network = convert_compare_gan(data, build())
            outputs = fixtures.compare_gan_discriminator_outputs(
                network, data, meta, name
            )
            entry["training"] = {
                key: max_error([pair]) for key, pair in outputs.items()
            }
            state = fixtures.compare_gan_state(network, data, "training")
            entry["training"]["state after the pass"] = max_error(state.values())
        results[name] = entry
        print(name, json.dumps(entry), flush=True)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument(
        "--out", default=str(ROOT / "tools" / "results" / "conversion_compare_gan.json")
    )
    args = parser.parse_args()
    if args.measure:
        measure_conversion(args.measure)
        return
    manifest = json.loads((REFERENCE / "manifest.json").read_text())
    recorded = {e["label"]: e["counts"] for e in manifest["full_size_counts"]}
    conversions = {}
    ours = {}
    for label in NETWORKS:
        output = subprocess.run(
            [sys.executable, __file__, "--measure", label],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        measured = json.loads(output.strip().splitlines()[-1])
        ours[label] = measured.pop("counts")
        conversions[label] = measured
        print(label, json.dumps(measured), flush=True)
    parameters = {
        label: {
            "ours": ours[label],
            "compare_gan": recorded[label],
            "equal": ours[label] == recorded[label],
        }
        for label in NETWORKS
    }
    results = {
        "command": (
            "nice -n 10 .venv/bin/python tools/benchmark_conversion_compare_gan.py"
        ),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "load_average_1min": round(os.getloadavg()[0], 1),
        "date": time.strftime("%Y-%m-%d"),
        "parameters": parameters,
        "conversion": {
            preset: dict(conversions[label], network=label)
            for preset, label in PRESETS.items()
        },
        "conversion_all_networks": conversions,
        "fixtures": fixture_errors(),
        "notes": [
            "Counts per compare_gan top-level scope; 'trainable' as "
            "tf.trainable_variables, 'all' adds spectral-norm vectors and batch-norm "
            "statistics. compare_gan's numbers come from its own code (manifest.json).",
            "Conversion: networks built with zero initialisers (build_seconds "
            "excludes compare_gan's orthogonal / normal initialisation), random "
            "weights written under compare_gan's names with "
            "tf.raw_ops.SaveV2 into <folder>/variables/variables (a TF-Hub module's "
            "layout), read back by keras_ssl.convert format compare_gan_tf into a "
            "freshly built network; peak RSS is the whole process's (ru_maxrss), "
            "which includes both networks and TensorFlow.",
            "Fixture differences: ours vs compare_gan's outputs at the fixtures' "
            "reduced widths; G images compared after the [0, 1] -> [-1, 1] map.",
        ],
    }
    path = pathlib.Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
