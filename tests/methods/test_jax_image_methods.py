"""pix2pix, CycleGAN, BiGAN and the context encoder train with `model.fit`
under the JAX backend, in a fresh process that cannot import TensorFlow.

As in `test_jax_training`: one Python process with `KERAS_BACKEND=jax` and
XLA's CPU optimisation turned down trains each named model a few steps, at
the smallest sizes its networks allow, on real CIFAR-10 images saved by the
parent.
"""

import json
import textwrap

import numpy as np
import pytest

from tests.helpers import WITHOUT_TENSORFLOW, cifar10_images
from tests.methods.test_jax_training import (
    RECORD_FIT,
    assert_trained,
    results_under_jax,
    run_jax,
)

# The smallest networks of each method, by name: (builder, its arguments).
BUILDERS = {
    "pix2pix": ("build_pix2pix", {"image_size": 32, "width": 4, "d_layers": 2}),
    "cyclegan": (
        "build_cyclegan",
        {"image_size": 16, "width": 4, "num_blocks": 1, "d_layers": 2, "seed": 0},
    ),
    "bigan": ("build_bigan", {"image_size": 16, "z_dim": 8, "width": 4, "seed": 0}),
    "context_encoder": (
        "build_context_encoder",
        # Random squares: the mask draws advance the seed generator too.
        {"image_size": 16, "width": 4, "mask": "squares", "seed": 0},
    ),
}

# Trains each named model two steps (8 images, batch 4) and prints one JSON
# line of `record_fit` results.
TRAIN = (
    WITHOUT_TENSORFLOW
    + RECORD_FIT
    + textwrap.dedent(
        """
    import json, sys
    import keras

    assert keras.backend.backend() == "jax", keras.backend.backend()
    from keras_ssl.methods import build_method

    data = np.load(sys.argv[1])
    builders = json.loads(sys.argv[2])
    results = {}

    def fit(name, model, x, y=None):
        results[name] = record_fit(model, x, y, batch_size=4)

    for name, (builder, options) in builders.items():
        model = build_method(name, **options)
        images = data[f"images_{options['image_size']}"]
        if name in ("pix2pix", "cyclegan"):
            # Paired for pix2pix (a fixed map of the input), unpaired for
            # CycleGAN: any b with any a.
            fit(name, model, images, -images[::-1] if name == "cyclegan" else -images)
        else:
            fit(name, model, images)
        if name == "pix2pix":
            results[name]["evaluate"] = model.evaluate(
                images, -images, batch_size=4, verbose=0, return_dict=True
            )
    print("RESULTS " + json.dumps(results))
    """
    )
)


def train_under_jax(tmp_path, names):
    builders = {name: BUILDERS[name] for name in names}
    sizes = {options["image_size"] for _, options in builders.values()}
    arrays = {f"images_{s}": cifar10_images(8, size=s) for s in sizes}
    return results_under_jax(tmp_path, TRAIN, arrays, json.dumps(builders))


LOGS = {
    "pix2pix": {"d_loss", "g_loss", "g_gan", "g_l1"},
    "cyclegan": {"d_loss", "g_loss", "g_gan", "cycle", "identity"},
    "bigan": {"d_loss", "g_loss", "reconstruction_error"},
    "context_encoder": {
        "g_loss",
        "d_loss",
        "reconstruction_loss",
        "adversarial_loss",
        "masked_l2",
        "psnr",
    },
}


def check(results, names):
    for name in names:
        assert_trained(results[name])
        assert set(results[name]["logs"]) == LOGS[name], name


# Slow: the default run covers gan and rotnet on JAX, and that every
# method module imports without TensorFlow (test_backend_agnostic_import).
@pytest.mark.slow
def test_bigan_and_context_encoder_train_under_jax(tmp_path):
    names = ["bigan", "context_encoder"]
    check(train_under_jax(tmp_path, names), names)


@pytest.mark.slow
def test_pix2pix_and_cyclegan_train_under_jax(tmp_path):
    names = ["pix2pix", "cyclegan"]
    results = train_under_jax(tmp_path, names)
    check(results, names)
    evaluated = results["pix2pix"]["evaluate"]
    assert set(evaluated) == LOGS["pix2pix"]
    assert all(np.isfinite(list(evaluated.values())))


# One `fit` step of each model from the same weights, images and noise, with
# plain SGD: the JAX step must compute what the TensorFlow step computes.
# Deterministic settings: pix2pix and BiGAN without dropout, CycleGAN without
# a pool, the context encoder with central masks, BiGAN with fixed noise.
# The context encoder fills its holes with 0.5, not 0: a hole of zeros
# under a zero bias puts pre-activations exactly at LeakyReLU's kink, whose
# derivative the two backends define differently.
SAME_STEP = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from tests.methods.test_jax_image_methods import one_step

    data = np.load(sys.argv[1])
    logs = {}
    weights = {}
    for name in sys.argv[3].split(","):
        logs[name], after = one_step(name, data)
        weights.update({f"{name}_{i}": w for i, w in enumerate(after)})
    np.savez(sys.argv[2], **weights)
    print("RESULTS " + json.dumps(logs))
    """
)

SAME_STEP_OPTIONS = {
    "pix2pix": {"image_size": 32, "width": 4, "d_layers": 2, "dropout": 0.0},
    "cyclegan": {
        "image_size": 16,
        "width": 4,
        "num_blocks": 1,
        "d_layers": 2,
        "pool_size": 0,
    },
    "bigan": {"image_size": 16},
    "context_encoder": {"image_size": 16},
}


def _build(name):
    from keras_ssl.methods import build_method

    if name == "bigan":
        from keras_ssl.architectures.bigan import bigan_discriminator, bigan_encoder
        from keras_ssl.architectures.dcgan import dcgan_generator
        from keras_ssl.methods.bigan import BiGAN

        return BiGAN(
            dcgan_generator(16, 8, 4),
            bigan_encoder(16, 8, 4),
            bigan_discriminator(16, 8, 4, dropout=0.0),
        )
    if name == "context_encoder":
        from keras_ssl.architectures.dcgan import dcgan_discriminator
        from keras_ssl.methods.context_encoder import (
            ContextEncoder,
            context_encoder_networks,
        )

        encoder, decoder = context_encoder_networks(16, width=4)
        return ContextEncoder(
            encoder, decoder, dcgan_discriminator(16, 4), fill_value=0.5
        )
    return build_method(name, **SAME_STEP_OPTIONS[name])


def one_step(name, data):
    """`(logs, weights)` after one SGD step of a tiny `name` model on `data`."""
    import keras
    from keras import ops

    model = _build(name)
    model.compile(
        g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1)
    )
    count = len(model.get_weights())
    model.set_weights([data[f"{name}_init_{i}"] for i in range(count)])
    if name == "bigan":
        noise = data["noise"]
        model.sample_z = lambda batch_size: ops.convert_to_tensor(noise)
    images = data[f"images_{SAME_STEP_OPTIONS[name]['image_size']}"]
    y = -images if name in ("pix2pix", "cyclegan") else None
    history = model.fit(images, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    logs = {k: float(v[-1]) for k, v in history.history.items()}
    return logs, [np.asarray(w) for w in model.get_weights()]


@pytest.mark.slow
def test_jax_steps_match_tensorflow(tmp_path):
    names = list(SAME_STEP_OPTIONS)
    data = {}
    init = {}
    for name in names:
        init[name] = _build(name).get_weights()
        data.update({f"{name}_init_{i}": w for i, w in enumerate(init[name])})
    for size in (16, 32):
        data[f"images_{size}"] = cifar10_images(4, size=size)
    data["noise"] = np.random.default_rng(0).uniform(-1, 1, (4, 8)).astype("float32")
    path = tmp_path / "step.npz"
    np.savez(path, **data)
    saved = np.load(path)
    expected = {name: one_step(name, saved) for name in names}
    output = run_jax(SAME_STEP, path, tmp_path / "jax.npz", ",".join(names))
    line = next(x for x in output.splitlines() if x.startswith("RESULTS "))
    logs = json.loads(line[len("RESULTS ") :])
    weights = np.load(tmp_path / "jax.npz")
    for name in names:
        expected_logs, expected_weights = expected[name]
        assert logs[name].keys() == expected_logs.keys(), name
        for key, value in expected_logs.items():
            np.testing.assert_allclose(
                logs[name][key], value, rtol=1e-4, atol=1e-6, err_msg=f"{name} {key}"
            )
        moved = 0
        for i, (before, after) in enumerate(
            zip(init[name], expected_weights, strict=True)
        ):
            got = weights[f"{name}_{i}"]
            np.testing.assert_allclose(
                got, after, rtol=1e-3, atol=1e-5, err_msg=f"{name} weight {i}"
            )
            moved += not np.allclose(before, after)
        assert moved > len(init[name]) // 2, name
