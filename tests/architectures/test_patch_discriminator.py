import numpy as np
import pytest
import tensorflow as tf

from keras_ssl.architectures import patch_discriminator
from keras_ssl.architectures.patch_discriminator import (
    RECEPTIVE_FIELDS,
    receptive_field,
)
from tests.helpers import assert_keras_round_trip, random_inputs


def test_full_size_parameter_count_equals_the_authors():
    d = patch_discriminator(256, channels=6)
    assert sum(int(np.prod(v.shape)) for v in d.trainable_weights) == 2_768_705


def test_70x70_patchgan_gives_a_30x30_map_at_256():
    d = patch_discriminator(256, channels=6, width=2)
    assert tuple(d(np.zeros((1, 256, 256, 6), "float32")).shape) == (1, 30, 30, 1)
    assert d.get_layer("conv1_lrelu").negative_slope == pytest.approx(0.2)


@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_documented_receptive_field_is_what_one_logit_sees(num_layers):
    field = RECEPTIVE_FIELDS[num_layers]
    assert receptive_field(num_layers) == field
    size = 2**num_layers * 12
    d = patch_discriminator(size, channels=1, width=2, num_layers=num_layers)
    x = tf.constant(random_inputs((1, size, size, 1), seed=0))
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = d(x)
        centre = logits.shape[1] // 2
        value = logits[0, centre, centre, 0]
    grad = np.abs(np.asarray(tape.gradient(value, x)))[0, :, :, 0]
    rows = np.nonzero(grad.sum(axis=1))[0]
    cols = np.nonzero(grad.sum(axis=0))[0]
    assert rows.max() - rows.min() + 1 == field
    assert cols.max() - cols.min() + 1 == field


def test_round_trip(tmp_path):
    assert_keras_round_trip(
        patch_discriminator(32, channels=3, width=2, norm="instance"),
        inputs=random_inputs((2, 32, 32, 3), seed=1),
        tmp_path=tmp_path,
    )


def test_unsupported_sizes_name_the_sizes_that_work():
    with pytest.raises(ValueError, match=r"multiple of 8 and at least 24: \[24, 32"):
        patch_discriminator(20)
    with pytest.raises(ValueError, match="norm must be one of"):
        patch_discriminator(32, norm="layer")
