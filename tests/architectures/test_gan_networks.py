import pytest

from keras_ssl.architectures.gan_networks import gan_networks, gan_widths
from keras_ssl.methods import build_method


def test_widths_follow_compare_gan():
    assert gan_widths("resnet", 32, width=8) == (16, 8)
    assert gan_widths("resnet", 32) == (None, None)
    assert gan_widths("resnet", 64, width=8, g_width=3) == (3, 8)
    assert gan_widths("dcgan", 32) == (64, 64)


def test_options_go_to_the_networks_that_name_them():
    g, d = gan_networks(
        32,
        channels=1,
        z_dim=8,
        width=4,
        num_classes=3,  # both networks
        rotation_head=True,  # D only
        normalization="conditional",  # G only
        pooling="mean",  # D only
    )
    assert len(g.inputs) == 2 and len(d.inputs) == 2
    assert "rotation_logits" in d.output
    assert type(g.get_layer("block_1").norm_1).__name__ == (
        "ConditionalBatchNormalization"
    )


def test_builders_forward_architecture_options():
    # An option no method names reaches the network builders unchanged.
    gan = build_method(
        "ssgan", image_size=32, channels=1, width=4, z_dim=8, pooling="mean"
    )
    assert (
        gan.discriminator.get_config()
        != build_method(
            "ssgan", image_size=32, channels=1, width=4, z_dim=8
        ).discriminator.get_config()
    )
    assert "rotation_logits" in gan.discriminator.output


def test_an_unknown_option_is_a_clear_error():
    with pytest.raises(TypeError, match="colour"):
        gan_networks(32, width=4, colour="red")
    with pytest.raises(TypeError, match="not an option of dcgan_generator"):
        build_method("gan", architecture="dcgan", width=4, num_classes=3)
    with pytest.raises(ValueError, match="architecture must be one of"):
        gan_networks(32, architecture="vit")
