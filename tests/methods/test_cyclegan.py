import numpy as np
import pytest
import tensorflow as tf

from keras_ssl.methods import CycleGAN, LinearDecay, build_cyclegan
from tests.helpers import cifar10_images, run_method_test

AUTOMOBILE, TRUCK = 1, 9


def _domains(n, split="test", seed=0):
    images, labels = cifar10_images(n, split=split, seed=seed, labels=True)
    return images[labels == AUTOMOBILE], images[labels == TRUCK]


def _dataset(a, b, batch_size):
    count = min(len(a), len(b)) // batch_size * batch_size
    return tf.data.Dataset.from_tensor_slices((a[:count], b[:count])).batch(batch_size)


def test_trains_with_fit_on_real_unpaired_images_and_round_trips(tmp_path):
    a, b = _domains(200)
    model, history, restored = run_method_test(
        build_cyclegan,
        {"image_size": 32, "width": 4, "num_blocks": 1, "pool_size": 4},
        _dataset(a, b, 2),
        steps=3,
        compile_kwargs={"constant_steps": 1, "decay_steps": 4},
        tmp_path=tmp_path,
    )
    assert sorted(history.history) == ["cycle", "d_loss", "g_gan", "g_loss", "identity"]
    np.testing.assert_array_equal(
        np.asarray(restored.pool_a.images), np.asarray(model.pool_a.images)
    )
    assert int(np.asarray(model.pool_b.count)) == 4
    out = restored.translate(b[:2], direction="b_to_a")
    np.testing.assert_allclose(
        out, model.translate(b[:2], direction="b_to_a"), atol=1e-6
    )
    # LinearDecay(2e-4, 1, 4) after 3 steps: 2e-4 * (1 - 2 / 4).
    np.testing.assert_allclose(float(model.g_optimizer.learning_rate), 1e-4, rtol=1e-5)


def test_schedule_matches_its_formula():
    schedule = LinearDecay(2e-4, constant_steps=100, decay_steps=50)
    for step in (0, 1, 99, 100, 101, 125, 149, 150, 151, 1000):
        expected = 2e-4 * min(1.0, max(0.0, 1 - (step - 100) / 50))
        np.testing.assert_allclose(
            float(schedule(step)), expected, rtol=1e-6, atol=1e-12
        )
    assert (
        LinearDecay.from_config(schedule.get_config()).get_config()
        == schedule.get_config()
    )


def test_generator_loss_is_lsgan_plus_cycle_plus_identity():
    a, b = _domains(100)
    a, b = a[:2], b[:2]
    model = build_cyclegan(32, width=4, num_blocks=1)
    loss, terms, _ = model.generator_loss(a, b)
    fake_b = np.asarray(model.generator_ab(a))
    fake_a = np.asarray(model.generator_ba(b))
    gan = np.mean((np.asarray(model.discriminator_b(fake_b)) - 1) ** 2) + np.mean(
        (np.asarray(model.discriminator_a(fake_a)) - 1) ** 2
    )
    cycle = 10 * (
        np.mean(np.abs(np.asarray(model.generator_ba(fake_b)) - a))
        + np.mean(np.abs(np.asarray(model.generator_ab(fake_a)) - b))
    )
    identity = 5 * (
        np.mean(np.abs(np.asarray(model.generator_ab(b)) - b))
        + np.mean(np.abs(np.asarray(model.generator_ba(a)) - a))
    )
    np.testing.assert_allclose(float(terms["g_gan"]), gan, rtol=1e-5)
    np.testing.assert_allclose(float(terms["cycle"]), cycle, rtol=1e-5)
    np.testing.assert_allclose(float(terms["identity"]), identity, rtol=1e-5)
    np.testing.assert_allclose(float(loss), gan + cycle + identity, rtol=1e-5)


def test_preview_and_translate():
    a, b = _domains(100)
    model = build_cyclegan(32, width=4, num_blocks=1)
    columns = model.preview((a[:2], b[:2]))
    assert [c.shape for c in columns] == [(4, 32, 32, 3)] * 3
    assert all(c.dtype == np.uint8 for c in columns)
    as_uint8 = model.translate(((a[:2] + 1) * 127.5).astype("uint8"))
    assert as_uint8.dtype == np.uint8
    with pytest.raises(ValueError, match="direction must be one of"):
        model.translate(a, direction="forward")


def test_mismatched_networks_are_clear_errors():
    grey = build_cyclegan(32, channels=1, output_channels=3, width=4, num_blocks=1)
    assert grey.identity_weight == 0.0
    with pytest.raises(ValueError, match="identity loss"):
        CycleGAN(
            grey.generator_ab,
            grey.generator_ba,
            grey.discriminator_a,
            grey.discriminator_b,
            identity_weight=0.5,
        )
    with pytest.raises(ValueError, match="discriminator_a input"):
        CycleGAN(
            grey.generator_ab,
            grey.generator_ba,
            grey.discriminator_b,
            grey.discriminator_b,
        )


@pytest.mark.slow
def test_automobile_truck_cycle_error_falls():
    a, b = _domains(10000, split="train")
    model = build_cyclegan(32, width=16, num_blocks=3, seed=0)
    model.compile()
    history = model.fit(
        _dataset(a, b, 8).repeat(), steps_per_epoch=50, epochs=6, verbose=0
    )
    cycle = history.history["cycle"]
    assert cycle[-1] < 0.6 * cycle[0], cycle
