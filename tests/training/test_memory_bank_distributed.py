import keras
import numpy as np
import tensorflow as tf

from keras_ssl.architectures.nin import nin_encoder
from keras_ssl.methods.rotation_decoupling import RotationDecoupling
from keras_ssl.training.distribute import strategy, synchronize_batch_norm
from tests.helpers import floatx_scope

BATCH = 8
NUM_EXAMPLES = 24


def _images(dtype="float32"):
    from keras_ssl import data

    images, _ = data.load_arrays(
        "digits", image_size=16, limit=NUM_EXAMPLES, seed=0, channels=3
    )
    # Digits have large constant regions, where max pooling sees exact ties;
    # which tied element gets the gradient then hangs on the last bit of the
    # pooled values. A little seeded jitter leaves no exact ties.
    jitter = np.random.default_rng(0).uniform(-0.05, 0.05, images.shape)
    return (images + jitter).astype(dtype)


def _build(nce_kind):
    return RotationDecoupling(
        nin_encoder((16, 16, 3), num_blocks=3, width=8),
        num_examples=NUM_EXAMPLES,
        embedding_dim=8,
        num_negatives=16,
        temperature=0.1,
        nce_kind=nce_kind,
        seed=0,
    )


def _weights(model):
    return [keras.ops.convert_to_numpy(v) for v in model.weights]


def _one_step(distribution, nce_kind, init, images, indices):
    with distribution.scope():
        model = _build(nce_kind)
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        model(images[:2])
        synchronize_batch_norm(model)
    model.set_weights(init)
    dataset = tf.data.Dataset.from_tensor_slices((images, indices)).batch(BATCH)
    model.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0)
    return model


def _copies(distribution, variable):
    return [
        np.asarray(v) for v in distribution.experimental_local_results(variable.value)
    ]


def _run_both(mirrored, nce_kind, dtype="float32"):
    images = _images(dtype)
    # A global batch of scattered rows, so the two replicas own distinct rows.
    indices = np.array([3, 17, 0, 22, 9, 5, 14, 11], "int32")
    reference = _build(nce_kind)
    reference(images[:2])
    init = _weights(reference)
    batch = images[indices]
    single = _one_step(strategy("default"), nce_kind, init, batch, indices)
    distributed = _one_step(mirrored, nce_kind, init, batch, indices)
    return init, indices, single, distributed


def _check_bank(mirrored, init_bank, indices, single, distributed):
    single_bank = np.asarray(single.memory_bank.bank)
    copies = _copies(mirrored, distributed.memory_bank.bank)
    assert len(copies) == 2
    # Each copy holds the rows of both replicas' examples, bit for bit.
    np.testing.assert_array_equal(copies[0], copies[1])
    np.testing.assert_allclose(copies[0], single_bank, atol=1e-5)
    moved = np.abs(single_bank - init_bank).max(axis=-1)
    assert np.all(moved[indices] > 1e-3)
    untouched = np.setdiff1d(np.arange(NUM_EXAMPLES), indices)
    np.testing.assert_array_equal(single_bank[untouched], init_bank[untouched])


def test_one_mirrored_step_equals_one_single_device_step_with_its_bank(mirrored):
    # Sampled softmax has no batch-level statistic, so the whole step
    # (weights, batch-norm statistics, bank, seed state) must match. In
    # float64: the two steps sum the batch in different orders, and float32
    # rounding (which varies from run to run with the CPU threads' schedule)
    # could flip a ReLU or a max-pooling choice and move a weight by 1e-3;
    # in float64 the steps agree to about 1e-14.
    with floatx_scope("float64"):
        init, indices, single, distributed = _run_both(mirrored, "softmax", "float64")
    names = [v.path for v in single.weights]
    bank_index = names.index(single.memory_bank.bank.path)
    _check_bank(mirrored, init[bank_index], indices, single, distributed)
    moved = 0.0
    for name, before, a, b in zip(
        names, init, _weights(single), _weights(distributed), strict=True
    ):
        assert a.dtype == b.dtype, name
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10, err_msg=name)
        moved = max(moved, float(np.abs(a - before).max()))
    assert moved > 1e-3, "the step did not change the weights"
    for variable in distributed.weights:
        copies = _copies(mirrored, variable)
        for copy in copies[1:]:
            np.testing.assert_array_equal(copy, copies[0], err_msg=variable.path)


def test_mirrored_nce_step_updates_the_bank_like_a_single_device_step(mirrored):
    # With binary NCE each replica estimates Z from its own negatives, so the
    # weights differ from a single-device step; the bank update uses the
    # embeddings from before the step and must still match.
    init, indices, single, distributed = _run_both(mirrored, "nce")
    names = [v.path for v in single.weights]
    bank_index = names.index(single.memory_bank.bank.path)
    _check_bank(mirrored, init[bank_index], indices, single, distributed)
    for a, b in zip(_weights(single), _weights(distributed), strict=True):
        assert np.all(np.isfinite(b))
        assert a.shape == b.shape


def test_negatives_are_the_global_draw_split_by_replica(mirrored):
    with mirrored.scope():
        model = _build("softmax")
    model_single = _build("softmax")

    @tf.function
    def draw(m):
        return m._negative_indices(3)

    single = np.asarray(model_single.memory_bank.sample_indices((6, 16)))
    per_replica = mirrored.run(draw, args=(model,))
    parts = [np.asarray(p) for p in mirrored.experimental_local_results(per_replica)]
    np.testing.assert_array_equal(np.concatenate(parts), single)
