import keras
import numpy as np
import pytest

from keras_ssl.architectures.nin import nin_encoder
from keras_ssl.data import load, load_arrays
from keras_ssl.methods import build_method
from keras_ssl.methods.rotation_auxiliary import RotationAuxiliary
from keras_ssl.ops import rotate90
from tests.helpers import assert_keras_round_trip, cifar10_path


def _small_encoder(size=32):
    return nin_encoder((size, size, 3), num_blocks=3, width=16)


def _auroc(scores_in, scores_out):
    scores_in, scores_out = np.asarray(scores_in), np.asarray(scores_out)
    greater = (scores_out[:, None] > scores_in[None]).mean()
    ties = (scores_out[:, None] == scores_in[None]).mean()
    return greater + 0.5 * ties


def test_ood_score_is_minus_kl_to_uniform_plus_mean_rotation_loss():
    rng = np.random.default_rng(0)
    model = RotationAuxiliary(_small_encoder(16), num_classes=5)
    images = rng.uniform(-1, 1, size=(3, 16, 16, 3)).astype("float32")
    logits = np.asarray(model(images))
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    kl = -np.log(5) - log_p.mean(-1)
    rotation = np.zeros(3)
    correct = np.zeros(3)
    for k in range(4):
        rot_logits = np.asarray(
            model.rotation_head(model.features(rotate90(images, k)))
        )
        log_q = rot_logits - np.log(np.exp(rot_logits).sum(-1, keepdims=True))
        rotation += -log_q[:, k] / 4
        correct += np.exp(log_q[:, k])
    np.testing.assert_allclose(
        np.asarray(model.ood_score(images, score="kl")), -kl, atol=1e-4
    )
    np.testing.assert_allclose(
        np.asarray(model.ood_score(images)), -kl + rotation, atol=1e-4
    )
    np.testing.assert_allclose(
        np.asarray(model.ood_score(images, score="one_class")), -correct, atol=1e-5
    )
    assert np.all(kl >= -1e-6)
    with pytest.raises(ValueError, match="score"):
        model.ood_score(images, score="max_softmax")


def _toy_model():
    """2x2 one-channel images, features = the 4 pixels (known answers).

    The class head is confident (class 0) exactly when pixel (0, 0) is bright;
    the rotation head puts the bright pixel of a one-hot image where rotating
    the in-distribution image [[1, 0], [0, 0]] by r * 90 degrees moves it.
    """
    encoder = keras.Sequential(
        [keras.Input((2, 2, 1)), keras.layers.Flatten()], name="pixels"
    )
    model = RotationAuxiliary(encoder, num_classes=3)
    class_kernel = np.zeros((4, 3), "float32")
    class_kernel[0, 0] = 20.0
    model.classifier.set_weights([class_kernel, np.zeros(3, "float32")])
    upright = np.zeros((1, 2, 2, 1), "float32")
    upright[0, 0, 0, 0] = 1.0
    rotation_kernel = np.zeros((4, 4), "float32")
    for k in range(4):
        pixel = int(np.argmax(np.asarray(rotate90(upright, k)).reshape(-1)))
        rotation_kernel[pixel, k] = 20.0
    model.rotation_head.set_weights([rotation_kernel, np.zeros(4, "float32")])
    return model, upright


def test_ood_scores_order_a_known_toy_case():
    model, upright = _toy_model()
    blank = np.zeros((1, 2, 2, 1), "float32")  # uniform class and rotation
    inside = np.asarray(model.ood_score(upright))
    outside = np.asarray(model.ood_score(blank))
    # A uniform prediction scores above a confident one; for the blank image
    # -KL(U || U) = 0 and each rotation loss is log 4.
    assert outside[0] > inside[0]
    np.testing.assert_allclose(outside, [np.log(4.0)], atol=1e-5)
    kl_in = np.asarray(model.ood_score(upright, score="kl"))
    kl_out = np.asarray(model.ood_score(blank, score="kl"))
    assert kl_out[0] > kl_in[0]
    np.testing.assert_allclose(kl_out, [0.0], atol=1e-6)
    # One-class: every rotation of the upright image is recognised (score
    # near -4); the blank image gets 1/4 per rotation (score -1).
    np.testing.assert_allclose(
        np.asarray(model.ood_score(upright, score="one_class")), [-4.0], atol=1e-3
    )
    np.testing.assert_allclose(
        np.asarray(model.ood_score(blank, score="one_class")), [-1.0], atol=1e-5
    )
    # Inverting the class head's confidence ordering flips the KL score.
    hot = np.ones((1, 2, 2, 1), "float32") * 0.0
    hot[0, 0, 0, 0] = 0.05  # barely bright: nearly uniform class prediction
    assert np.asarray(model.ood_score(hot, score="kl"))[0] > kl_in[0]


def test_total_loss_weights_the_rotation_term():
    rng = np.random.default_rng(0)
    model = RotationAuxiliary(_small_encoder(16), num_classes=3, rotation_weight=2.0)
    labels = np.array([0, 2])
    logits = rng.normal(size=(2, 3)).astype("float32")
    rot_labels = np.array([0, 1, 2, 3])
    rot_logits = rng.normal(size=(4, 4)).astype("float32")

    def cross_entropy(logits, labels):
        log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        return -log_p[np.arange(len(labels)), labels].mean()

    expected = cross_entropy(logits, labels) + 2.0 * cross_entropy(
        rot_logits, rot_labels
    )
    assert float(model.classification_loss(logits, labels)) == pytest.approx(
        cross_entropy(logits, labels), rel=1e-5
    )
    actual = float(model.total_loss(logits, labels, rot_logits, rot_labels))
    assert actual == pytest.approx(expected, rel=1e-5)


def test_trains_on_real_images_and_round_trips(tmp_path):
    data = load(
        cifar10_path("test"),
        split="test",
        image_size=32,
        limit=48,
        batch_size=16,
        shuffle=True,
        seed=0,
    )
    model = build_method(
        "rotation_auxiliary",
        image_size=32,
        channels=3,
        num_classes=10,
        encoder=_small_encoder(),
    )
    history = model.fit(data, epochs=1, verbose=0)
    for name in ("loss", "classification_loss", "pretext_loss", "pretext_accuracy"):
        assert np.isfinite(history.history[name]).all(), name
    images = next(iter(data))[0].numpy()
    assert_keras_round_trip(model, inputs=images, tmp_path=tmp_path, atol=1e-5)


def test_unlabeled_batches_and_bad_arguments_are_clear_errors():
    model = RotationAuxiliary(_small_encoder(16), num_classes=10)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="labels"):
        model.train_step(np.zeros((2, 16, 16, 3), "float32"))
    with pytest.raises(ValueError, match="num_classes"):
        RotationAuxiliary(_small_encoder(16), num_classes=1)
    with pytest.raises(ValueError, match="rotation_weight"):
        RotationAuxiliary(_small_encoder(16), num_classes=3, rotation_weight=-1)
    flat = keras.Sequential([keras.Input((4, 4, 3, 2)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="pooled"):
        RotationAuxiliary(flat, num_classes=3)


@pytest.mark.slow
def test_learns_rotation_and_flags_noise_as_out_of_distribution():
    data = load(
        cifar10_path("test"),
        split="test",
        image_size=32,
        limit=1024,
        batch_size=32,
        shuffle=True,
        seed=0,
    )
    model = build_method(
        "rotation_auxiliary",
        image_size=32,
        channels=3,
        num_classes=10,
        encoder=_small_encoder(),
    )
    history = model.fit(data, epochs=8, verbose=0)
    assert history.history["pretext_accuracy"][-1] > 0.35
    assert history.history["classification_accuracy"][-1] > 0.15
    inside, _ = load_arrays(
        cifar10_path("test"), split="test", image_size=32, limit=256, seed=7
    )
    noise = np.clip(np.random.default_rng(0).normal(0, 0.5, inside.shape), -1, 1)
    auroc = _auroc(model.ood_score(inside), model.ood_score(noise.astype("float32")))
    assert auroc > 0.6


def test_zero_weight_baseline_trains_classifier_only():
    images, labels = load_arrays(
        cifar10_path("test"), split="test", image_size=32, limit=16, seed=0
    )
    model = build_method(
        "rotation_auxiliary",
        image_size=32,
        channels=3,
        num_classes=10,
        encoder=_small_encoder(),
        rotation_weight=0.0,
    )
    model(images[:2])
    rotation_kernel = np.asarray(model.rotation_head.kernel).copy()
    classifier_kernel = np.asarray(model.classifier.kernel).copy()
    history = model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["classification_loss"]).all()
    np.testing.assert_array_equal(
        np.asarray(model.rotation_head.kernel), rotation_kernel
    )
    assert not np.allclose(np.asarray(model.classifier.kernel), classifier_kernel)
