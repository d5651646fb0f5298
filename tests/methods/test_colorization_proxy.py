import keras
import pytest

from keras_ssl.methods.colorization_proxy import (
    ColorizationProxy,
    build_colorization_proxy,
)
from tests.helpers import cifar10_images, run_method_test
from tests.methods.pretext_helpers import short_run

SMALL = {
    "image_size": 32,
    "encoder_config": {"width": 8, "num_blocks": 3},
    "hidden_units": 16,
    "num_pixels": 32,
    "seed": 0,
}


def test_trains_on_real_images_and_round_trips(tmp_path):
    images = cifar10_images(16)
    model, history, restored = run_method_test(
        "colorization_proxy", SMALL, images, steps=2, tmp_path=tmp_path
    )
    assert set(history.history) == set(ColorizationProxy.metric_names)
    assert restored.hypercolumn_layers == ["block1", "block2", "block3"]
    columns = restored.preview(images[:2])
    assert [c.shape for c in columns] == [(2, 32, 32, 3)] * 3


def test_hypercolumn_reads_every_block_at_image_resolution():
    images = cifar10_images(2)
    model = build_colorization_proxy(**SMALL)
    columns = model.hypercolumns(images)
    # NIN blocks 1-3 (4, 8 and 8 channels at 16, 8 and 8 px), plus the
    # output (block3 again), all upsampled to 32 px.
    assert tuple(columns.shape) == (2, 32, 32, 4 + 8 + 8 + 8)
    only_output = build_colorization_proxy(**dict(SMALL, hypercolumn_layers=[]))
    assert tuple(only_output.hypercolumns(images).shape) == (2, 32, 32, 8)
    assert tuple(model(images).shape) == (2, 32, 32, 64)


def test_sparse_training_loss_estimates_the_dense_loss():
    # Seeded: the sampled pixels' loss is an estimate (unseeded runs drew
    # ones more than 5% off now and then).
    keras.utils.set_random_seed(0)
    images = cifar10_images(8)
    model = build_colorization_proxy(**dict(SMALL, num_pixels=1024, seed=0))
    dense = float(model.pretext_logs(images, training=False)["pretext_loss"])
    sparse = float(model.pretext_logs(images, training=True)["pretext_loss"])
    assert sparse == pytest.approx(dense, rel=0.05)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="channels"):
        build_colorization_proxy(32, channels=1)
    with pytest.raises(ValueError, match="num_pixels"):
        build_colorization_proxy(**dict(SMALL, num_pixels=0))


@pytest.mark.slow
def test_colour_error_falls_in_a_short_run():
    keras.utils.set_random_seed(0)
    model = build_colorization_proxy(
        32, encoder_config={"width": 32, "num_blocks": 3}, seed=0
    )
    before, after, _ = short_run(model)
    assert after["pretext_loss"] < before["pretext_loss"]
    assert after["color_error"] < 0.7 * before["color_error"]
    assert after["psnr"] > before["psnr"] + 2
