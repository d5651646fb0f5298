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


def counts(network):
    import numpy as np

    from keras_ssl.convert.compare_gan import compare_gan_variables

    result = {}
    for name, variable in compare_gan_variables(network).items():
        entry = result.setdefault(name.split("/")[0], {"trainable": 0, "all": 0})
        size = int(np.prod(variable.shape))
        entry["all"] += size
        entry["trainable"] += size if variable.trainable else 0
    return result


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
                "counts": counts(target),
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

    from keras_ssl.architectures import resnet_discriminator, resnet_generator
    from keras_ssl.convert.compare_gan import compare_gan_variables, convert_compare_gan

    generators = {
        "resnet_cifar32_G_sbn": lambda: resnet_generator(
            32, base_channels=32, style="resnet_cifar", normalization="self_modulated"
        ),
        "resnet_cifar32_G_bn": lambda: resnet_generator(
            32, base_channels=32, style="resnet_cifar", normalization="batch"
        ),
        "resnet5_128_G_sbn": lambda: resnet_generator(
            128, base_channels=8, style="resnet5", normalization="self_modulated"
        ),
        "resnet_biggan128_G": lambda: resnet_generator(
            128, z_dim=120, base_channels=4, num_classes=10, style="resnet_biggan"
        ),
    }
    discriminators = {
        "resnet_cifar32_D_ssgan": lambda: resnet_discriminator(
            32, base_channels=16, style="resnet_cifar", rotation_head=True
        ),
        "resnet5_128_D_ssgan": lambda: resnet_discriminator(
            128, base_channels=8, style="resnet5", rotation_head=True
        ),
        "resnet_biggan128_D_s3gan": lambda: resnet_discriminator(
            128,
            base_channels=8,
            num_classes=10,
            style="resnet_biggan",
            rotation_head=True,
            class_head=True,
            project_y=False,
        ),
        "resnet_biggan128_D_s3gan_projy": lambda: resnet_discriminator(
            128,
            base_channels=8,
            num_classes=10,
            style="resnet_biggan",
            rotation_head=True,
            class_head=True,
        ),
    }

    def state_error(network, data, mode):
        prefix = f"after/{mode}/"
        changed = {k[len(prefix) :]: v for k, v in data.items() if k.startswith(prefix)}
        return max(
            float(np.abs(np.asarray(v) - changed.get(n, data[n])).max())
            for n, v in compare_gan_variables(network).items()
        )

    results = {}
    for name, build in {**generators, **discriminators}.items():
        with np.load(REFERENCE / f"{name}.npz") as file:
            data = {k: file[k] for k in file.files}
        meta = json.loads(str(data.pop("__meta__")))
        entry = {}
        if name in generators:
            for mode in ("inference", "training"):
                network = convert_compare_gan(data, build())
                inputs = data["input/z"]
                if meta.get("num_classes"):
                    inputs = [inputs, data["input/labels"].astype("int32")]
                images = np.asarray(network(inputs, training=mode == "training"))
                expected = 2.0 * data[f"output/{mode}/images"] - 1.0
                entry[mode] = {
                    "images (ours = 2 x original - 1)": float(
                        np.abs(images - expected).max()
                    ),
                    "state after the pass": state_error(network, data, mode),
                }
        else:
            network = convert_compare_gan(data, build())
            x = 2.0 * data["input/d_input"] - 1.0
            inputs = x
            if meta.get("num_classes"):
                y = data["input/d_input_y"]
                labels = np.where(y.sum(1) > 0.5, y.argmax(1), -1).astype("int32")
                inputs = [x, labels]
            out = {k: np.asarray(v) for k, v in network(inputs, training=True).items()}
            head = "s3gan" if "s3gan" in name else "ssgan"
            pairs = {
                "features": "arch/h",
                "logits": f"{head}/d_logits",
                "rotation_logits": f"{head}/rotation_logits",
            }
            if head == "s3gan":
                pairs["class_logits"] = "s3gan/aux_logits"
            entry["training"] = {
                key: float(np.abs(out[key] - data[f"output/training/{ref}"]).max())
                for key, ref in pairs.items()
            }
            entry["training"]["state after the pass"] = state_error(
                network, data, "training"
            )
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
