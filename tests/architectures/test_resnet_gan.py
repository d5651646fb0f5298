import numpy as np
import pytest

from keras_ssl.architectures import resnet_discriminator, resnet_generator
from tests.helpers import random_inputs

# (image size, style): the output width of D's last block for base_channels=1.
LAST_D_WIDTH = {32: 1, 48: 16, 64: 16, 128: 16}


@pytest.mark.parametrize(
    "image_size, style",
    [
        (32, "sngan"),
        (48, "sngan"),
        (64, "sngan"),
        (128, "sngan"),
        (48, "biggan"),
        (64, "biggan"),
        (64, "resnet5"),
    ],
)
def test_builds_at_every_size_with_documented_shapes(image_size, style):
    width = 1
    g = resnet_generator(image_size, z_dim=8, base_channels=width, style=style)
    d = resnet_discriminator(
        image_size,
        base_channels=width,
        style=style,
        rotation_head=True,
        num_classes=5,
        class_head=True,
    )
    assert tuple(g.output.shape) == (None, image_size, image_size, 3)
    shapes = {k: tuple(v.shape) for k, v in d.output.items()}
    features = LAST_D_WIDTH[image_size] * width
    assert shapes == {
        "logits": (None, 1),
        "features": (None, features),
        "rotation_logits": (None, 4),
        "class_logits": (None, 5),
    }
    attention = [layer.name for layer in g.layers if "attention" in layer.name]
    expected = []
    assert attention == expected
    assert [layer.name for layer in d.layers if "attention" in layer.name] == expected


def test_generator_images_are_in_range_and_channels_configurable():
    g = resnet_generator(32, z_dim=8, base_channels=4, channels=1)
    images = np.asarray(g(random_inputs((3, 8), seed=0) * 10, training=True))
    assert images.shape == (3, 32, 32, 1)
    assert images.min() >= -1 and images.max() <= 1


def test_cifar_networks_have_the_paper_widths():
    g = resnet_generator(32)
    d = resnet_discriminator(32)
    assert g.get_layer("seed").units == 4 * 4 * 256
    assert [g.get_layer(f"block_{i}").filters for i in (1, 2, 3)] == [256] * 3
    assert [d.get_layer(f"block_{i}").filters for i in (1, 2, 3, 4)] == [128] * 4
    assert d.get_layer("block_1").optimized
    assert [d.get_layer(f"block_{i}").downsample for i in (1, 2, 3, 4)] == [
        True,
        True,
        False,
        False,
    ]


def test_projection_term_depends_on_the_label():
    d = resnet_discriminator(32, base_channels=4, num_classes=3)
    images = random_inputs((2, 32, 32, 3), seed=0)
    a = np.asarray(d([images, np.array([0, 0])])["logits"])
    b = np.asarray(d([images, np.array([1, 1])])["logits"])
    assert np.abs(a - b).max() > 1e-5


def test_unknown_label_uses_the_class_head_prediction():
    d = resnet_discriminator(32, base_channels=4, num_classes=3, class_head=True)
    images = random_inputs((4, 32, 32, 3), seed=0)
    unknown = d([images, -np.ones(4, "int32")])
    predicted = np.argmax(np.asarray(unknown["class_logits"]), axis=-1).astype("int32")
    known = d([images, predicted])
    np.testing.assert_allclose(unknown["logits"], known["logits"], atol=1e-5)


def test_self_modulated_generator_takes_z_only():
    g = resnet_generator(32, z_dim=8, base_channels=4, normalization="self_modulated")
    assert len(g.inputs) == 1
    assert any(
        type(layer.norm_1).__name__ == "SelfModulatedBatchNormalization"
        for layer in g.layers
        if layer.name.startswith("block_")
    )


def test_conditional_generator_takes_labels():
    g = resnet_generator(32, z_dim=8, base_channels=4, num_classes=10)
    assert [tuple(t.shape) for t in g.inputs] == [(None, 8), (None,)]
    out = g([random_inputs((2, 8)), np.array([1, 2])])
    assert tuple(out.shape) == (2, 32, 32, 3)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(
        ValueError, match=r"image_size must be one of \(32, 48, 64, 128\)"
    ):
        resnet_generator(40)
    with pytest.raises(ValueError, match="Received: image_size=40"):
        resnet_discriminator(40)
    with pytest.raises(ValueError, match="needs num_classes"):
        resnet_generator(32, normalization="conditional")
    with pytest.raises(ValueError, match="class_head=True needs num_classes"):
        resnet_discriminator(32, class_head=True)
    with pytest.raises(ValueError, match="attention_resolution must be"):
        resnet_generator(32, base_channels=4, attention_resolution=12)
    with pytest.raises(ValueError, match="style must be one of"):
        resnet_generator(64, style="big")


def test_style_selects_the_network_family():
    # The default and "resnet5" keep the SN-GAN networks below 128 (the
    # networks of the earlier releases); at 128 they are compare_gan's.
    legacy = resnet_discriminator(32, base_channels=4)
    assert legacy.get_layer("block_1").optimized
    assert (
        resnet_discriminator(32, base_channels=4, style="resnet5")
        .get_layer("block_1")
        .optimized
    )
    exact = resnet_discriminator(32, base_channels=4, style="resnet_cifar")
    assert exact.get_layer("discriminator.B1.down_conv_shortcut")
    g = resnet_generator(128, base_channels=1, style="resnet5")
    assert g.get_layer("generator.B5.up_conv1")
    big = resnet_generator(
        128, z_dim=12, base_channels=4, num_classes=3, style="biggan"
    )
    assert big.get_layer("generator.embed_y")
    assert big.get_layer("generator.non_local_block")
