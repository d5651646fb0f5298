import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ssl.data import paired
from keras_ssl.data.paired import make_pairs
from keras_ssl.losses import gan as gan_losses
from keras_ssl.methods import Pix2Pix, build_pix2pix
from keras_ssl.methods.pix2pix import to_uint8
from tests.helpers import cifar10_images, cifar10_path, run_method_test


def _grey_pairs(n, seed=0, split="test"):
    return make_pairs(cifar10_images(n, split=split, seed=seed), "grey_to_colour")


def _dataset(a, b, batch_size):
    return tf.data.Dataset.from_tensor_slices((a, b)).batch(
        batch_size, drop_remainder=True
    )


def test_trains_with_fit_on_real_image_pairs_and_round_trips(tmp_path):
    a, b = _grey_pairs(16)
    model, history, restored = run_method_test(
        build_pix2pix,
        {"image_size": 32, "channels": 1, "width": 4},
        _dataset(a, b, 4),
        steps=3,
        tmp_path=tmp_path,
    )
    assert sorted(history.history) == ["d_loss", "g_gan", "g_l1", "g_loss"]
    np.testing.assert_allclose(restored.translate(a), model.translate(a), atol=1e-6)


def test_the_l1_term_falls():
    keras.utils.set_random_seed(0)
    a, b = _grey_pairs(32, seed=1)
    model = build_pix2pix(32, channels=1, width=8, gan_weight=0.0)
    model.compile()
    history = model.fit(
        _dataset(a, b, 16).repeat(), steps_per_epoch=10, epochs=3, verbose=0
    )
    l1 = history.history["g_l1"]
    assert l1[-1] < 0.9 * l1[0], l1


def test_losses_are_the_papers():
    a, b = _grey_pairs(2)
    model = build_pix2pix(32, channels=1, width=4)
    fake = np.asarray(model.generator(a))
    real_logits = model.discriminator(np.concatenate([a, b], -1))
    fake_logits = model.discriminator(np.concatenate([a, fake], -1))
    expected_d = 0.5 * (
        np.mean(np.log1p(np.exp(-np.asarray(real_logits))))
        + np.mean(np.log1p(np.exp(np.asarray(fake_logits))))
    )
    np.testing.assert_allclose(
        float(model.discriminator_loss(a, b, fake)), expected_d, rtol=1e-5
    )
    g_loss, terms = model.generator_loss(a, b, fake)
    gan = float(gan_losses.non_saturating_generator_loss(fake_logits))
    l1 = np.mean(np.abs(b - fake))
    np.testing.assert_allclose(float(g_loss), gan + 100 * l1, rtol=1e-5)
    np.testing.assert_allclose(float(terms["g_l1"]), l1, rtol=1e-5)


def test_translate_modes():
    a, _ = _grey_pairs(3)
    model = build_pix2pix(64, channels=1, width=2)  # 64: one dropout block
    images = np.repeat(np.repeat(a, 2, axis=1), 2, axis=2)
    eval_out = model.translate(images)
    np.testing.assert_allclose(eval_out, np.asarray(model.generator(images)), atol=1e-6)
    means = [np.asarray(v) for v in model.generator.non_trainable_weights]
    paper = model.translate(images, mode="paper", seed=3)
    np.testing.assert_allclose(paper, model.translate(images, mode="paper", seed=3))
    assert not np.allclose(paper, model.translate(images, mode="paper", seed=4))
    # Each image alone: the same image gives the same batch statistics.
    single = model.translate(images[1:2], mode="paper", seed=3)
    assert single.shape == (1, 64, 64, 3)
    for before, variable in zip(means, model.generator.non_trainable_weights):
        np.testing.assert_array_equal(before, np.asarray(variable))
    as_uint8 = model.translate(((images + 1) * 127.5).astype("uint8"))
    assert as_uint8.dtype == np.uint8 and as_uint8.shape == (3, 64, 64, 3)


def test_preview_columns_are_uint8_rgb():
    a, b = _grey_pairs(4)
    model = build_pix2pix(32, channels=1, width=4)
    columns = model.preview((a, b))
    assert len(columns) == 3
    for column in columns:
        assert column.dtype == np.uint8 and column.shape == (4, 32, 32, 3)
    np.testing.assert_array_equal(columns[0][..., 0], columns[0][..., 2])


def test_preview_of_the_colorization_mode_is_rgb():
    a, b = make_pairs(cifar10_images(2), "lightness_to_ab")
    model = build_pix2pix(32, channels=1, output_channels=2, width=4)
    inputs, outputs, targets = model.preview((a, b))
    assert outputs.shape == targets.shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(targets, to_uint8(paired.lab_pair_to_images(a, b)))


def test_bad_batches_and_networks_are_clear_errors():
    model = build_pix2pix(32, channels=1, width=4)
    model.compile()
    colour = np.zeros((2, 32, 32, 3), "float32")
    with pytest.raises(ValueError, match=r"Received: inputs of shape \(2, 32, 32, 3\)"):
        model.fit(colour, colour, verbose=0)
    with pytest.raises(ValueError, match="concatenated"):
        Pix2Pix(model.generator, build_pix2pix(32, width=4).discriminator)
    with pytest.raises(ValueError, match="mode must be one of"):
        model.translate(colour[..., :1], mode="train")


def _psnr(x, y):
    return 10 * np.log10(4.0 / np.mean((x - y) ** 2))


@pytest.mark.slow
def test_edges_to_photo_beats_copying_the_input_on_held_out_images():
    # The benchmark's setting (tools/benchmark_image_to_image.py --only
    # pix2pix --steps 2000: 11.5 dB against 7.6 dB for the copy).
    keras.utils.set_random_seed(0)
    a, b = make_pairs(cifar10_images(8000, split="train"), "edges_to_photo")
    test_a, test_b = make_pairs(cifar10_images(256, seed=5), "edges_to_photo")
    model = build_pix2pix(32, channels=1, width=16)
    model.compile()
    dataset = _dataset(a, b, 16).shuffle(64, seed=0).repeat()
    model.fit(dataset, steps_per_epoch=500, epochs=4, verbose=0)
    out = model.translate(test_a)
    copy = np.repeat(test_a, 3, axis=-1)
    assert np.mean(np.abs(out - test_b)) < np.mean(np.abs(copy - test_b)) - 0.1
    assert _psnr(out, test_b) > _psnr(copy, test_b) + 2.0


def _ab_histogram(ab):
    """Distribution of ab values (stored / 110) on the 10-unit grid."""
    ab = np.asarray(ab).reshape(-1, 2) * paired.AB_SCALE
    edges = np.arange(-110, 111, 10)
    counts, _, _ = np.histogram2d(ab[:, 0], ab[:, 1], bins=[edges, edges])
    return counts / counts.sum()


@pytest.mark.slow
def test_colorization_beats_the_grey_copy_and_the_cgan_matches_the_colours():
    # The authors' colorization mode (their `colorization` dataset and
    # model): L in, ab out, the image put together with the input's L. The
    # same budget for pix2pix's L1-only ablation and for pix2pix.
    a, b = make_pairs(cifar10_images(8000, split="train"), "lightness_to_ab")
    test_a, test_b = make_pairs(cifar10_images(256, seed=5), "lightness_to_ab")
    truth = np.asarray(paired.lab_pair_to_images(test_a, test_b))
    grey = np.asarray(paired.lab_pair_to_images(test_a, np.zeros_like(test_b)))
    dataset = _dataset(a, b, 16).shuffle(1024, seed=0).repeat()
    ab = {}
    for gan_weight in (0.0, 1.0):
        keras.utils.set_random_seed(0)
        model = build_pix2pix(
            32, channels=1, output_channels=2, width=16, gan_weight=gan_weight
        )
        model.compile()
        model.fit(dataset, steps_per_epoch=500, epochs=3, verbose=0)
        ab[gan_weight] = model.translate(test_a)
    l1_only = np.asarray(paired.lab_pair_to_images(test_a, ab[0.0]))
    # Per pixel, regression to the conditional median beats the grey copy
    # (pix2pix itself does not: see docs/image_to_image.md).
    assert np.mean(np.abs(l1_only - truth)) < 0.98 * np.mean(np.abs(grey - truth))
    # The adversarial term brings the colour distribution closer to the
    # true one than L1 alone and the grey copy (the paper's Fig. 7 measure,
    # histogram intersection).
    true = _ab_histogram(test_b)
    matched = {w: np.minimum(_ab_histogram(v), true).sum() for w, v in ab.items()}
    matched["grey"] = np.minimum(_ab_histogram(0 * test_b), true).sum()
    assert matched[1.0] > max(matched[0.0], matched["grey"]) + 0.05, matched


def test_keras_ssl_train_writes_input_output_target_sheets(tmp_path):
    from PIL import Image

    from keras_ssl.training.runner import train

    data = {
        # The authors' L -> ab mode: the runner sizes G's output (2
        # channels) from the targets.
        "source": f"lightness_to_ab:{cifar10_path('test')}",
        "split": "test",
        "image_size": 32,
        "limit": 32,
    }
    summary = train(
        "pix2pix",
        data,
        out=tmp_path,
        model={"width": 4},
        steps=2,
        batch_size=4,
        steps_per_epoch=2,
        sample_every=2,
        verbose=0,
    )
    assert summary["steps"] == 2
    sheet = np.asarray(Image.open(tmp_path / "samples" / "final_preview.png"))
    # Columns input | output | target of 32x32 images.
    assert sheet.shape[1] >= 3 * 32 and sheet.shape[-1] == 3
