import keras
import numpy as np
import pytest

from keras_ssl.architectures import nin_encoder
from keras_ssl.methods import RotNet, build_method, build_rotnet
from keras_ssl.ops import rotation_batch
from tests.methods.pretext_helpers import (
    assert_logs_finite_metrics,
    assert_round_trip,
    cifar,
    fit_briefly,
    random_images,
)


@pytest.fixture(scope="module")
def trained():
    """A narrow RotNet fitted briefly on real CIFAR-10 images."""
    keras.utils.set_random_seed(0)
    model = build_rotnet(32, encoder_config={"width": 16, "num_blocks": 3})
    return fit_briefly(model, cifar(512, 16), 40, keras.optimizers.Adam(3e-3))


def test_fit_logs_finite_pretext_loss_and_accuracy(trained):
    assert_logs_finite_metrics(trained[1])


def test_pretext_accuracy_on_real_images_beats_chance(trained):
    model, _ = trained
    # Held-out images (a different seeded subset), upright and rotated.
    results = model.evaluate(
        cifar(128, 32, seed=7), steps=4, verbose=0, return_dict=True
    )
    print("rotnet held-out pretext accuracy after 40 steps:", results)
    assert results["pretext_accuracy"] > 0.35, results


def test_call_scores_the_four_rotations_in_order(trained):
    model, _ = trained
    images = random_images(3)
    rotated, labels = rotation_batch(images)
    logits = np.asarray(model(images))
    np.testing.assert_allclose(logits, model.rotation_logits(rotated), atol=1e-5)
    probabilities = keras.ops.softmax(logits)
    expected = -np.mean(
        np.log(np.asarray(probabilities))[np.arange(12), np.asarray(labels)]
    )
    np.testing.assert_allclose(
        float(model.pretext_loss(logits, labels)), expected, rtol=1e-5
    )


def test_round_trip(trained, tmp_path):
    model, _ = trained
    restored = assert_round_trip(model, tmp_path)
    assert isinstance(restored.optimizer, keras.optimizers.Adam)
    images = random_images(4)
    np.testing.assert_allclose(
        restored.encoder(images), model.encoder(images), atol=1e-6
    )


def test_registered_and_takes_any_encoder():
    model = build_method(
        "rotnet", image_size=16, encoder="resnet18", encoder_config={"width": 4}
    )
    assert isinstance(model, RotNet) and model.encoder.name == "cifar_resnet18"
    vector = nin_encoder((16, 16, 3), 3, width=8, pooled=True)
    assert RotNet(vector).feature_dim == 8


def test_bad_encoders_are_clear_errors():
    inputs = keras.Input((16, 8, 3))
    with pytest.raises(ValueError, match="square images"):
        RotNet(keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs)))
    inputs = keras.Input((8, 8, 8, 3))
    with pytest.raises(ValueError, match="cannot be pooled"):
        RotNet(keras.Model(inputs, inputs))
    with pytest.raises(ValueError, match="image_size must be an int >= 4"):
        build_rotnet(image_size=2)


def test_default_optimizer_is_the_papers_sgd():
    model = build_rotnet(16, encoder_config={"width": 4, "num_blocks": 3})
    model.compile()
    optimizer = model.optimizer
    assert isinstance(optimizer, keras.optimizers.SGD) and optimizer.nesterov
    assert float(optimizer.learning_rate) == pytest.approx(0.1)
    assert optimizer.weight_decay == pytest.approx(5e-4)


@pytest.mark.slow
def test_pretext_accuracy_rises_well_above_chance():
    keras.utils.set_random_seed(1)
    model = build_rotnet(32, encoder_config={"width": 32, "num_blocks": 3})
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    model.fit(cifar(2048, 32), steps_per_epoch=64, epochs=4, verbose=0)
    results = model.evaluate(
        cifar(256, 64, seed=11), steps=4, verbose=0, return_dict=True
    )
    print("rotnet held-out pretext accuracy:", results)
    assert results["pretext_accuracy"] > 0.45, results
