import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ssl.export import export_saved_model, resolve_servable

LATENT_DIM = 8
NUM_CLASSES = 3


def conditional_generator():
    noise = keras.Input((LATENT_DIM,), name="z")
    labels = keras.Input((), dtype="int32", name="y")
    embedded = keras.layers.Embedding(NUM_CLASSES, LATENT_DIM)(labels)
    hidden = keras.layers.Dense(4 * 4 * 3, activation="tanh")(
        keras.layers.Add()([noise, embedded])
    )
    return keras.Model([noise, labels], keras.layers.Reshape((4, 4, 3))(hidden))


def encoder():
    images = keras.Input((8, 8, 3))
    features = keras.layers.Conv2D(5, 3, activation="relu")(images)
    return keras.Model(images, features)


def classifier():
    images = keras.Input((8, 8, 3))
    hidden = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(images))
    return keras.Model(
        images, keras.layers.Dense(NUM_CLASSES, activation="softmax")(hidden)
    )


def rng_inputs(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "noise": rng.normal(size=(5, LATENT_DIM)).astype("float32"),
        "labels": np.array([0, 1, 2, 1, 0], dtype="int32"),
        "images": rng.integers(0, 256, size=(5, 8, 8, 3), dtype=np.uint8),
    }


# Runs in a fresh interpreter that never imports keras_ssl: the export must be
# self-contained for TF Serving and for plain TensorFlow users.
CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf

    base, inputs_path, out_path = sys.argv[1:4]
    inputs = dict(np.load(inputs_path))
    outputs, errors = {}, {}
    calls = {
        "generator": {"noise": inputs["noise"], "labels": inputs["labels"]},
        "encoder": {"images": inputs["images"]},
        "classifier": {"images": inputs["images"]},
    }
    bad = {
        "generator": {"noise": inputs["noise"][:, :3], "labels": inputs["labels"]},
        "encoder": {"images": inputs["images"][:, :4]},
        "classifier": {"images": inputs["images"].astype("float32")},
    }
    for name, feed in calls.items():
        loaded = tf.saved_model.load(f"{base}/{name}/1")
        serve = loaded.signatures["serving_default"]
        for key, value in serve(**{k: tf.constant(v) for k, v in feed.items()}).items():
            outputs[f"{name}/{key}"] = value.numpy()
        try:
            serve(**{k: tf.constant(v) for k, v in bad[name].items()})
            errors[name] = None
        except (tf.errors.InvalidArgumentError, TypeError, ValueError) as error:
            errors[name] = f"{type(error).__name__}: {error}"
    np.savez(out_path, **outputs)
    json.dump(
        {"errors": errors, "keras_ssl_imported": "keras_ssl" in sys.modules},
        open(out_path + ".json", "w"),
    )
    """
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("export")
    keras.utils.set_random_seed(1)
    models = {
        "generator": conditional_generator(),
        "encoder": encoder(),
        "classifier": classifier(),
    }
    for name, model in models.items():
        export_saved_model(model, base / name, version=1)
    inputs = rng_inputs()
    np.savez(base / "inputs.npz", **inputs)
    script = base / "child.py"
    script.write_text(CHILD)
    out = base / "outputs.npz"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, str(script), str(base), str(base / "inputs.npz"), str(out)],
        cwd=base,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(open(str(out) + ".json").read())
    return models, inputs, dict(np.load(out)), report, base


def test_layout_and_warmup_file(exported):
    _, _, _, _, base = exported
    for name in ("generator", "encoder", "classifier"):
        version = base / name / "1"
        assert (version / "saved_model.pb").exists()
        assert (version / "variables").is_dir()
        assert (version / "assets.extra" / "tf_serving_warmup_requests").exists()


def test_loads_without_keras_ssl(exported):
    _, _, _, report, _ = exported
    assert report["keras_ssl_imported"] is False


def test_generator_outputs_match_keras(exported):
    models, inputs, outputs, _, _ = exported
    expected = models["generator"].predict(
        [inputs["noise"], inputs["labels"]], verbose=0
    )
    expected = np.clip(np.round((expected + 1.0) * 127.5), 0, 255).astype(np.uint8)
    images = outputs["generator/images"]
    assert images.dtype == np.uint8 and images.shape == (5, 4, 4, 3)
    # One level of rounding slack between the two float paths.
    assert np.abs(images.astype(int) - expected.astype(int)).max() <= 1
    assert np.mean(images == expected) > 0.99


def test_encoder_outputs_match_keras(exported):
    models, inputs, outputs, _, _ = exported
    floats = inputs["images"].astype("float32") / 127.5 - 1.0
    expected = models["encoder"].predict(floats, verbose=0).mean(axis=(1, 2))
    np.testing.assert_allclose(outputs["encoder/features"], expected, atol=1e-5)


def test_classifier_outputs_match_keras(exported):
    models, inputs, outputs, _, _ = exported
    floats = inputs["images"].astype("float32") / 127.5 - 1.0
    expected = models["classifier"].predict(floats, verbose=0)
    np.testing.assert_allclose(outputs["classifier/probabilities"], expected, atol=1e-5)
    np.testing.assert_array_equal(
        outputs["classifier/classes"], expected.argmax(axis=-1)
    )
    np.testing.assert_allclose(expected.sum(axis=-1), 1.0, atol=1e-5)


def test_bad_serving_input_is_rejected_clearly(exported):
    _, _, _, report, _ = exported
    errors = report["errors"]
    assert "Input `noise` must have shape (batch, 8)" in errors["generator"]
    assert "Input `images` must have shape (batch, 8, 8, 3)" in errors["encoder"]
    # A wrong dtype is refused by the signature's TensorSpec before running.
    assert "uint8" in errors["classifier"] and "float" in errors["classifier"]


def test_auto_signature():
    assert resolve_servable(conditional_generator())[0] == "generator"
    assert resolve_servable(encoder())[0] == "encoder"
    assert resolve_servable(classifier())[0] == "classifier"


def test_method_model_exports_its_generator():
    class Holder(keras.Model):
        def __init__(self):
            super().__init__()
            self.generator = conditional_generator()

    holder = Holder()
    assert resolve_servable(holder) == ("generator", holder.generator)
    holder.ema_generator = conditional_generator()
    assert resolve_servable(holder) == ("generator", holder.ema_generator)
    assert resolve_servable(holder, "classifier") == ("classifier", holder)


def test_existing_version_needs_overwrite(tmp_path):
    model = encoder()
    export_saved_model(model, tmp_path, version=3, warmup_batch_size=0)
    assert not (tmp_path / "3" / "assets.extra").exists()
    with pytest.raises(ValueError, match="already exists"):
        export_saved_model(model, tmp_path, version=3)
    export_saved_model(model, tmp_path, version=3, overwrite=True)
    assert (tmp_path / "3" / "assets.extra").exists()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"version": 0}, ValueError, "version must be an int >= 1"),
        ({"version": "1"}, ValueError, "Received: version='1'"),
        ({"signature": "decoder"}, ValueError, "signature must be one of"),
        ({"warmup_batch_size": -1}, ValueError, "warmup_batch_size"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        export_saved_model(encoder(), tmp_path, **kwargs)


def test_not_a_model_is_a_type_error(tmp_path):
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        export_saved_model(tf.Module(), tmp_path)


def test_conditional_gan_export_matches_generate(tmp_path):
    from keras_ssl import zoo

    keras.utils.set_random_seed(0)
    gan = zoo.load("cgan_cifar10", weights=None, width=8, z_dim=16)
    path = export_saved_model(gan, tmp_path, version=1)
    serve = tf.saved_model.load(path).signatures["serving_default"]
    labels = np.array([0, 3, 9, 3], "int32")
    expected = gan.generate(4, labels=labels, seed=7)
    # generate() draws its noise first from numpy's generator with `seed`.
    noise = np.random.default_rng(7).standard_normal((4, 16)).astype("float32")
    images = serve(noise=tf.constant(noise), labels=tf.constant(labels))["images"]
    assert images.dtype == tf.uint8
    assert np.abs(images.numpy().astype(int) - expected.astype(int)).max() <= 1
