import numpy as np
import pytest

from keras_ssl import convert, zoo
from keras_ssl.architectures import (
    cyclegan_resnet_generator,
    patch_discriminator,
    unet_generator,
)
from keras_ssl.convert.core import ConversionError
from tests.helpers import reference_path

# float32 tolerance for 8 (U-Net: 16) convolutions at the fixtures' widths.
ATOL = 2e-5


def _fixture(name):
    with np.load(reference_path("pix2pix", f"{name}.npz")) as data:
        return {key: data[key] for key in data.files}


def _nhwc(array):
    return np.transpose(array, (0, 2, 3, 1))


@pytest.mark.parametrize("mode", ["eval", "train_dropout_off"])
def test_unet_reproduces_the_authors_outputs(mode):
    values = _fixture("unet256_G_batch_dropout")
    training = mode != "eval"
    # train_dropout_off: batch statistics without dropout, i.e. dropout 0.
    network = unet_generator(256, width=4, dropout=0.0 if training else 0.5)
    convert.convert("pix2pix_pth", values, network)
    ours = np.asarray(network(_nhwc(values["input/x"]), training=training))
    np.testing.assert_allclose(ours, _nhwc(values[f"output/{mode}"]), atol=ATOL)


def _assert_running_stats(values, network, mode, x):
    from keras_ssl.convert.pix2pix import _Mapping, _patch, _unet

    mapping = _Mapping(network)
    (_unet if "up0_conv" in mapping.names else _patch)(mapping)
    network(x, training=True)
    prefix = f"after/{mode}/"
    checked = 0
    bn_layers = [layer for layer in network.layers if hasattr(layer, "moving_variance")]
    for key in values:
        if key.startswith(prefix) and not key.endswith("num_batches_tracked"):
            name = key[len(prefix) :]
            variable = mapping.mapping[name]
            ours = np.asarray(variable, "float64")
            if name.endswith("running_var"):
                # torch updates the running variance with the unbiased batch
                # variance, Keras with the biased one (n values per channel).
                layer = next(b for b in bn_layers if b.moving_variance is variable)
                n = x.shape[0] * layer.output.shape[1] * layer.output.shape[2]
                old = values[name].astype("float64")
                ours = ours + (ours - 0.9 * old) / (n - 1)
            np.testing.assert_allclose(ours, values[key], atol=1e-6, err_msg=key)
            checked += 1
    return checked


def test_unet_batch_norm_statistics_after_a_training_pass():
    values = _fixture("unet256_G_batch_dropout")
    network = unet_generator(256, width=4, dropout=0.0)
    convert.convert("pix2pix_pth", values, network)
    x = _nhwc(values["input/x"])
    assert _assert_running_stats(values, network, "train_dropout_off", x) == 26


def test_resnet_generator_reproduces_the_authors_outputs_from_the_pth():
    values = _fixture("resnet9_G_instance")
    network = cyclegan_resnet_generator(64, width=8, num_blocks=9)
    convert.convert(
        "pix2pix_pth", reference_path("pix2pix", "resnet9_G_instance.pth"), network
    )
    x = _nhwc(values["input/x"])
    for mode, training in (("eval", False), ("train", True)):
        ours = np.asarray(network(x, training=training))
        np.testing.assert_allclose(ours, _nhwc(values[f"output/{mode}"]), atol=ATOL)


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_patch_discriminator_reproduces_the_authors_outputs(mode):
    values = _fixture("nlayer3_D_batch")
    network = patch_discriminator(128, channels=6, width=8, num_layers=3)
    convert.convert("pix2pix_pth", values, network)
    training = mode == "train"
    ours = np.asarray(network(_nhwc(values["input/x"]), training=training))
    np.testing.assert_allclose(ours, _nhwc(values[f"output/{mode}"]), atol=ATOL)
    if training:
        convert.convert("pix2pix_pth", values, network)
        x = _nhwc(values["input/x"])
        assert _assert_running_stats(values, network, "train", x) == 6


def test_old_instance_norm_running_stats_are_dropped():
    values = _fixture("resnet9_G_instance")
    # A 2018-era checkpoint: InstanceNorm2d(track_running_stats=True) buffers.
    values["model.2.running_mean"] = np.zeros(8, "float32")
    values["model.2.running_var"] = np.ones(8, "float32")
    values["model.2.num_batches_tracked"] = np.zeros((), "int64")
    network = cyclegan_resnet_generator(64, width=8, num_blocks=9)
    convert.convert("pix2pix_pth", values, network)
    ours = np.asarray(network(_nhwc(values["input/x"])))
    np.testing.assert_allclose(ours, _nhwc(values["output/eval"]), atol=ATOL)


def test_a_mismatched_network_lists_every_problem():
    values = _fixture("resnet9_G_instance")
    with pytest.raises(
        ConversionError, match="unused by the network: model.16.conv_block"
    ):
        convert.convert(
            "pix2pix_pth", values, cyclegan_resnet_generator(64, width=8, num_blocks=6)
        )
    with pytest.raises(ConversionError, match="mismatched shapes"):
        convert.convert(
            "pix2pix_pth", values, cyclegan_resnet_generator(64, width=4, num_blocks=9)
        )


def test_not_one_of_the_three_networks_is_a_clear_error():
    import keras

    inputs = keras.Input((8, 8, 3))
    other = keras.Model(inputs, keras.layers.Conv2D(1, 3)(inputs), name="other")
    with pytest.raises(ValueError, match="unet_generator, cyclegan_resnet"):
        convert.convert("pix2pix_pth", {}, other)


def test_zoo_loads_an_original_pth_through_a_small_preset(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    values = _fixture("resnet9_G_instance")
    preset = zoo.register(
        {
            "name": "test_cyclegan_fixture",
            "recipe": {
                "method": "cyclegan",
                "model": {"image_size": 64, "width": 8, "num_blocks": 9},
                "data": {"source": "unpaired:a,b"},
            },
            "original": {
                "format": "pix2pix_pth",
                "url": None,
                "filename": "resnet9_G_instance.pth",
                "network": "generator_ab",
                "license": "BSD",
            },
        },
        overwrite=True,
    )
    try:
        pth = reference_path("pix2pix", "resnet9_G_instance.pth")
        model = zoo.load(preset.name, weights=str(pth))
        x = _nhwc(values["input/x"])
        np.testing.assert_allclose(
            model.translate(x), _nhwc(values["output/eval"]), atol=ATOL
        )
        with pytest.raises(FileNotFoundError, match="resnet9_G_instance.pth"):
            zoo.load(preset.name)
    finally:
        zoo.unregister(preset.name)


@pytest.mark.parametrize(
    "name,network",
    [
        ("cyclegan_horse2zebra", "generator_ab"),
        ("cyclegan_style_monet", "generator_ab"),
        ("pix2pix_facades_label2photo", "generator"),
    ],
)
def test_released_presets_name_their_original(name, network):
    info = zoo.info(name)
    original = info["original"]
    assert original["format"] == "pix2pix_pth"
    assert original["network"] == network
    assert original["url"].startswith("http://efrosgans.eecs.berkeley.edu/")
    assert original["license"] == "BSD"
