import numpy as np
import pytest

from keras_ssl.architectures import cyclegan_resnet_generator
from tests.helpers import assert_keras_round_trip, random_inputs


def _trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def test_full_size_parameter_count_equals_the_authors():
    # ResnetGenerator(3, 3, 64, InstanceNorm2d, n_blocks=9, padding 'reflect').
    assert _trainable(cyclegan_resnet_generator(256)) == 11_378_179


def test_structure():
    g = cyclegan_resnet_generator(64, width=4, num_blocks=6)
    names = [layer.name for layer in g.layers]
    assert sum(n.endswith("_add") for n in names) == 6
    assert g.get_layer("stem_conv_pad").padding == ((3, 3), (3, 3))
    assert not g.non_trainable_weights  # instance norm: no running statistics
    assert all(
        g.get_layer(n).use_bias for n in ("stem_conv", "block0_conv1", "up1_conv")
    )


@pytest.mark.parametrize("size", [8, 36, 64])
def test_shapes_and_range(size):
    g = cyclegan_resnet_generator(size, width=2, num_blocks=1)
    y = np.asarray(g(random_inputs((2, size, size, 3), seed=0)))
    assert y.shape == (2, size, size, 3) and np.abs(y).max() <= 1


def test_each_image_is_normalised_alone():
    g = cyclegan_resnet_generator(16, width=2, num_blocks=1)
    x = random_inputs((3, 16, 16, 3), seed=3)
    together = np.asarray(g(x, training=True))
    alone = np.asarray(g(x[:1], training=True))
    np.testing.assert_allclose(together[:1], alone, atol=1e-5)


def test_round_trip(tmp_path):
    assert_keras_round_trip(
        cyclegan_resnet_generator(16, width=2, num_blocks=2, dropout=0.5),
        inputs=random_inputs((2, 16, 16, 3), seed=2),
        tmp_path=tmp_path,
    )


def test_unsupported_sizes_name_the_sizes_that_work():
    with pytest.raises(ValueError, match=r"multiple of 4 and at least 8: \[8, 12"):
        cyclegan_resnet_generator(30)
