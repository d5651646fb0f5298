import keras
import numpy as np
import pytest

from keras_ssl.layers import ChannelWiseDense
from keras_ssl.methods import ContextEncoder, build_context_encoder, build_method
from keras_ssl.ops import central_square_mask
from tests.helpers import assert_keras_round_trip, run_method_test
from tests.methods.pretext_helpers import cifar, random_images


def _fit(model, steps, batch_size=16, limit=256, **fit_kwargs):
    model.compile()
    return model.fit(
        cifar(limit, batch_size),
        steps_per_epoch=steps,
        epochs=1,
        verbose=0,
        **fit_kwargs,
    )


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    model = build_context_encoder(32, width=16, seed=0)
    history = _fit(
        model,
        15,
        validation_data=cifar(64, 32, seed=9),
        validation_steps=2,
    )
    return model, history


def test_networks_hold_the_channel_wise_bottleneck_and_a_stride_1_conv():
    model = build_context_encoder(32, width=8)
    assert tuple(model.encoder.output.shape) == (None, 4, 4, 32)
    layers = model.decoder.layers
    kinds = [type(layer) for layer in layers]
    index = kinds.index(ChannelWiseDense)
    mix = layers[index + 1]
    assert isinstance(mix, keras.layers.Conv2D) and mix.strides == (1, 1)
    assert tuple(model.decoder.output.shape) == (None, 32, 32, 3)
    assert isinstance(build_method("context_encoder", image_size=16), ContextEncoder)


def test_fit_on_real_images_logs_finite_losses_and_task_metrics(trained):
    _, history = trained
    logs = history.history
    for name in (
        "g_loss",
        "d_loss",
        "reconstruction_loss",
        "adversarial_loss",
        "masked_l2",
        "psnr",
        "val_masked_l2",
        "val_psnr",
    ):
        assert np.isfinite(logs[name][-1]), (name, logs)
    assert 0 < logs["val_masked_l2"][-1] < 1


def test_reconstruction_loss_weighs_the_overlap_border_ten_times():
    model = build_context_encoder(32, width=8, overlap=4)
    images = np.zeros((2, 32, 32, 3), "float32")
    predictions = np.zeros_like(images)
    masks = np.asarray(central_square_mask(2, 32, mask_size=8))
    # Errors of 1 in the hole only, then on the border ring only.
    predictions[:, 12:20, 12:20] = 1.0
    grown_area = 16 * 16
    hole = float(model.reconstruction_loss(images, predictions, masks))
    assert hole == pytest.approx(64 / grown_area, rel=1e-5)
    predictions[:] = 0.0
    predictions[:, 8:24, 8:24] = 1.0
    predictions[:, 12:20, 12:20] = 0.0
    ring = float(model.reconstruction_loss(images, predictions, masks))
    assert ring == pytest.approx(10 * (grown_area - 64) / grown_area, rel=1e-5)
    # Errors outside the grown hole cost nothing.
    predictions[:] = 0.0
    predictions[:, :4] = 5.0
    assert float(model.reconstruction_loss(images, predictions, masks)) == 0.0


def test_generator_loss_is_0999_reconstruction_plus_0001_adversarial():
    model = build_context_encoder(16, width=8)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    predictions = rng.uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    masks = np.asarray(model.sample_masks(2, seed=0))
    logits = rng.normal(size=(2, 1)).astype("float32")
    total, terms = model.generator_loss(images, predictions, masks, logits)
    expected = 0.999 * float(terms["reconstruction_loss"]) + 0.001 * float(
        terms["adversarial_loss"]
    )
    assert float(total) == pytest.approx(expected, rel=1e-5)
    assert float(terms["adversarial_loss"]) == pytest.approx(
        np.mean(np.log1p(np.exp(-logits))), rel=1e-5
    )


def test_masked_metrics_match_numpy():
    model = build_context_encoder(16, width=8)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (3, 16, 16, 3)).astype("float32")
    predictions = rng.uniform(-1, 1, (3, 16, 16, 3)).astype("float32")
    masks = np.asarray(model.sample_masks(3))
    logs = model.masked_metrics(images, predictions, masks)
    hole = masks[..., 0] > 0
    errors = ((predictions - images) / 2) ** 2
    per_image = [errors[i][hole[i]].mean() for i in range(3)]
    assert float(logs["masked_l2"]) == pytest.approx(np.mean(per_image), rel=1e-4)
    psnr = np.mean([10 * np.log10(1 / e) for e in per_image])
    assert float(logs["psnr"]) == pytest.approx(psnr, rel=1e-4)


def test_inpaint_keeps_the_context_and_fills_the_hole(trained):
    model, _ = trained
    images = (random_images(4) * 127.5 + 127.5).astype("uint8")
    masks = np.asarray(model.sample_masks(4))[..., 0]
    completed = model.inpaint(images, masks)
    assert completed.dtype == np.uint8 and completed.shape == images.shape
    keep = masks == 0
    np.testing.assert_array_equal(completed[keep], images[keep])
    assert np.any(completed[~keep] != images[~keep])
    floats = model.inpaint(images.astype("float32") / 127.5 - 1, masks)
    assert floats.dtype == np.float32 and np.abs(floats).max() <= 1.0


def test_preview_columns_are_masked_inpainted_original(trained):
    model, _ = trained
    images = random_images(3)
    columns = model.preview(images)
    assert len(columns) == 3
    for column in columns:
        assert column.dtype == np.uint8 and column.shape == (3, 32, 32, 3)
    hole = np.asarray(model.sample_masks(3, seed=0))[..., 0] > 0
    assert np.all(columns[0][hole] == 128)  # the fill value, mid-grey


@pytest.mark.parametrize("mask", ["squares", "regions"])
def test_random_masks_train(mask):
    model = build_context_encoder(16, width=8, mask=mask)
    model.compile()
    history = model.fit(random_images(8, size=16), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["g_loss"][-1])


def test_round_trip_keeps_weights_config_and_optimizers(trained, tmp_path):
    model, _ = trained
    restored = assert_keras_round_trip(
        model, inputs=random_images(2), tmp_path=tmp_path
    )
    assert isinstance(restored, ContextEncoder)
    assert restored.get_config()["mask"] == "center"
    assert int(restored.g_optimizer.iterations) == int(model.g_optimizer.iterations)
    assert int(restored.d_optimizer.iterations) == int(model.d_optimizer.iterations)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="mask"):
        build_context_encoder(16, width=8, mask="circle")
    with pytest.raises(ValueError, match="image_size"):
        build_context_encoder(24, width=8)
    with pytest.raises(ValueError, match="coverage"):
        build_context_encoder(16, width=8, mask="regions", mask_options={"coverage": 2})
    model = build_context_encoder(16, width=8)
    with pytest.raises(ValueError, match="masks"):
        model.inpaint(random_images(2, size=16), np.zeros((2, 8, 8)))


def test_method_contract_on_real_images(tmp_path):
    model, _, restored = run_method_test(
        "context_encoder",
        {"image_size": 32, "width": 8, "mask": "regions"},
        cifar(32, 8),
        steps=2,
        tmp_path=tmp_path,
    )
    assert restored.mask == "regions"


@pytest.mark.slow
def test_inpainting_beats_mean_fill_on_held_out_images():
    keras.utils.set_random_seed(1)
    model = build_context_encoder(32, width=32, seed=1)
    model.compile()
    held_out = cifar(256, 64, seed=5)
    before = model.evaluate(held_out, steps=4, verbose=0, return_dict=True)
    model.fit(cifar(2048, 64), steps_per_epoch=300, epochs=1, verbose=0)
    after = model.evaluate(held_out, steps=4, verbose=0, return_dict=True)
    images = np.concatenate([b[0] for b in held_out.take(4).as_numpy_iterator()])
    masks = np.asarray(model.sample_masks(len(images)))
    hole = masks[..., 0] > 0
    # Mean fill: every removed pixel takes the mean colour of its image's context.
    mean_fill = [
        (((images[i][~hole[i]].mean(0) - images[i][hole[i]]) / 2) ** 2).mean()
        for i in range(len(images))
    ]
    print("context encoder held-out", before, after, "mean fill", np.mean(mean_fill))
    assert after["masked_l2"] < 0.85 * before["masked_l2"]
    assert after["masked_l2"] < np.mean(mean_fill)


MIRRORED_SCRIPT = r"""
import json
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)
import numpy as np
from keras_ssl.methods import build_bigan, build_context_encoder

images = np.random.default_rng(0).uniform(-1, 1, (16, 16, 16, 3)).astype("float32")
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
logs = {}
for name, build in (
    ("context_encoder", lambda: build_context_encoder(16, width=4, mask="regions")),
    ("bigan", lambda: build_bigan(16, z_dim=4, width=4)),
):
    with strategy.scope():
        model = build()
        model.compile()
    history = model.fit(images, batch_size=8, epochs=1, verbose=0)
    logs[name] = {k: float(v[-1]) for k, v in history.history.items()}
print("RESULT", json.dumps(logs))
"""


def test_context_encoder_and_bigan_train_under_mirrored_strategy():
    # Random masks and noise are drawn for the global batch and sliced per
    # replica inside the traced step.
    import json
    import os
    import subprocess
    import sys

    from tests.helpers import REPO_ROOT

    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT],
        cwd=REPO_ROOT,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT")]
    assert result.returncode == 0 and lines, result.stderr[-4000:]
    logs = json.loads(lines[-1][len("RESULT ") :])
    for name in ("context_encoder", "bigan"):
        assert logs[name] and all(np.isfinite(v) for v in logs[name].values()), logs
