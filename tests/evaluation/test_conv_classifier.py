import keras
import numpy as np
import pytest

from keras_ssl.architectures import nin_encoder
from keras_ssl.evaluation import conv_block_classifier, nin_conv_block_classifier
from tests.helpers import assert_keras_round_trip


def test_full_size_classifier_has_the_authors_parameter_count(tmp_path):
    model = nin_conv_block_classifier((8, 8, 192), num_classes=10)
    # NonLinearClassifier(NIN_ConvBlock3, nChannels 192, 10 classes): 408,586.
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    assert trainable == 408_586
    small = nin_conv_block_classifier((4, 4, 8), num_classes=3, width=4)
    assert_keras_round_trip(small, input_shape=(2, 4, 4, 8), tmp_path=tmp_path)


def _colour_task(n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    images = rng.uniform(-0.3, 0.3, (n, 16, 16, 3)).astype("float32")
    images[..., 0] += np.where(labels == 1, 0.6, -0.6)[:, None, None]
    return images, labels


def test_learns_on_frozen_features_and_leaves_the_encoder_alone():
    # Seeded: over initialisations accuracy is 1.0 but for about one in six
    # (0.89), and the test checks learning, not the odds of a bad draw.
    keras.utils.set_random_seed(0)
    encoder = nin_encoder((16, 16, 3), num_blocks=3, width=8)
    before = [w.copy() for w in encoder.get_weights()]
    train, test = _colour_task(128, 0), _colour_task(64, 1)
    # ~100 steps: the batch-norm moving variance (from 1, momentum 0.9)
    # must forget its initial value before inference-mode accuracy means much.
    result = conv_block_classifier(
        encoder, train, test, epochs=6, batch_size=8, learning_rate=0.02
    )
    assert result["accuracy"] > 0.9
    assert result["layer"] == "block2" and result["steps"] == 96
    for old, new in zip(before, encoder.get_weights()):
        np.testing.assert_array_equal(old, new)  # BN statistics included


def test_bad_arguments_are_clear_errors():
    encoder = nin_encoder((16, 16, 3), num_blocks=3, width=8)
    data = _colour_task(8, 0)
    with pytest.raises(ValueError, match="layer"):
        conv_block_classifier(encoder, data, data, layer="block9", epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        conv_block_classifier(encoder, data, data, epochs=0)
    with pytest.raises(TypeError, match="encoder"):
        conv_block_classifier(lambda x: x, data, data, epochs=1)
