"""PyTorch's and Mimicry's spectral norm and batch norm, as Keras layers."""

import keras
import numpy as np
import pytest

from keras_ssl.layers.mimicry_conditional_batch_normalization import (
    MimicryConditionalBatchNormalization,
)
from keras_ssl.layers.mimicry_spectral_normalization import (
    MimicrySpectralNormalization,
)
from keras_ssl.layers.torch_batch_normalization import TorchBatchNormalization
from keras_ssl.layers.torch_spectral_normalization import TorchSpectralNormalization
from tests.helpers import assert_keras_round_trip, random_inputs


def _normalize(x):
    return x / max(np.linalg.norm(x), 1e-12)


def _matrix(layer):
    kernel = np.array(layer.kernel)
    if isinstance(layer.layer, keras.layers.Embedding):
        return kernel
    return kernel.reshape(-1, kernel.shape[-1]).T


def _dense(x, layer, sigma):
    return x @ (np.array(layer.kernel) / sigma) + np.array(layer.layer.bias)


def test_torch_sn_uses_stored_vectors_at_inference_and_iterates_in_training():
    layer = TorchSpectralNormalization(keras.layers.Dense(5))
    x = random_inputs((3, 7), seed=0)
    layer(x)
    u, v, m = np.array(layer.u), np.array(layer.v), _matrix(layer)
    np.testing.assert_allclose(layer(x), _dense(x, layer, u @ m @ v), rtol=1e-5)
    np.testing.assert_array_equal(layer.u, u)  # inference writes nothing
    v_new = _normalize(m.T @ u)
    u_new = _normalize(m @ v_new)
    out = layer(x, training=True)
    np.testing.assert_allclose(out, _dense(x, layer, u_new @ m @ v_new), rtol=1e-5)
    np.testing.assert_allclose(layer.u, u_new, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(layer.v, v_new, rtol=1e-6, atol=1e-7)


def test_mimicry_sn_iterates_in_both_modes_and_writes_only_in_training():
    layer = MimicrySpectralNormalization(keras.layers.Dense(5))
    x = random_inputs((3, 7), seed=1)
    layer(x)
    u, m = np.array(layer.u), _matrix(layer)
    v1 = _normalize(u @ m)
    u1 = _normalize(v1 @ m.T)
    expected = _dense(x, layer, u1 @ m @ v1)
    for _ in range(2):  # no write: the same output every time
        np.testing.assert_allclose(layer(x), expected, rtol=1e-5)
    np.testing.assert_array_equal(layer.u, u)
    np.testing.assert_allclose(layer(x, training=True), expected, rtol=1e-5)
    np.testing.assert_allclose(layer.u, u1, rtol=1e-6, atol=1e-7)
    assert not hasattr(layer, "v")


@pytest.mark.parametrize(
    "cls", [TorchSpectralNormalization, MimicrySpectralNormalization]
)
def test_sn_conv_and_embedding_match_pytorch(cls):
    """Against torch: spectral_norm (eval / train), and Mimicry's formula."""
    torch = pytest.importorskip("torch")
    conv = cls(keras.layers.Conv2D(6, 3, padding="same"))
    x = random_inputs((2, 5, 5, 4), seed=2)
    conv(x)
    reference = torch.nn.Conv2d(4, 6, 3, padding=1)
    with torch.no_grad():
        reference.weight.copy_(
            torch.from_numpy(np.transpose(np.array(conv.kernel), (3, 2, 0, 1)))
        )
        reference.bias.copy_(torch.from_numpy(np.array(conv.layer.bias)))
    torch_input = torch.from_numpy(np.transpose(x, (0, 3, 1, 2)))
    if cls is TorchSpectralNormalization:
        reference = torch.nn.utils.spectral_norm(reference)
        with torch.no_grad():
            reference.weight_u.copy_(torch.from_numpy(np.array(conv.u)))
            # PyTorch lays v out as (in, kh, kw); ours follows the kernel (kh, kw, in).
            v = np.array(conv.v).reshape(3, 3, 4).transpose(2, 0, 1).reshape(-1)
            reference.weight_v.copy_(torch.from_numpy(v))
    for training in (False, True, True):
        if cls is MimicrySpectralNormalization:
            m = _matrix(conv)
            v = _normalize(np.array(conv.u) @ m)
            sigma = _normalize(v @ m.T) @ m @ v
            with torch.no_grad():
                reference.weight.copy_(
                    torch.from_numpy(
                        np.transpose(np.array(conv.kernel), (3, 2, 0, 1)) / sigma
                    )
                )
        reference.train(training)
        with torch.no_grad():
            expected = reference(torch_input).numpy().transpose(0, 2, 3, 1)
        np.testing.assert_allclose(
            conv(x, training=training), expected, rtol=1e-4, atol=1e-5
        )
        if cls is TorchSpectralNormalization:
            np.testing.assert_allclose(
                conv.u, reference.weight_u.numpy(), rtol=1e-5, atol=1e-6
            )

    embedding = cls(keras.layers.Embedding(4, 3))
    labels = np.array([0, 3, 1], "int32")
    out = np.array(embedding(labels, training=True))
    m = _matrix(embedding)
    assert m.shape == (4, 3) and out.shape == (3, 3)


def test_sn_gradient_flows_through_sigma():
    import tensorflow as tf

    layer = TorchSpectralNormalization(keras.layers.Dense(4, use_bias=False))
    x = random_inputs((5, 6), seed=3)
    layer(x)
    u, v = np.array(layer.u), np.array(layer.v)
    kernel = layer.layer.kernel
    with tf.GradientTape() as tape:
        total = keras.ops.sum(layer(x))
    gradient = np.array(tape.gradient(total, kernel))
    # d/dW sum(x W / sigma) with sigma = u^T W^T v... as a (in, out) kernel:
    sigma = float(u @ _matrix(layer) @ v)
    direct = np.outer(x.sum(0), np.ones(4)) / sigma
    through_sigma = -float(x.sum(0) @ np.array(kernel) @ np.ones(4)) / sigma**2
    expected = direct + through_sigma * np.outer(v, u)
    np.testing.assert_allclose(gradient, expected, rtol=1e-4, atol=1e-6)


def test_torch_batch_norm_matches_pytorch():
    torch = pytest.importorskip("torch")
    layer = TorchBatchNormalization()
    x = random_inputs((4, 3, 3, 5), seed=4) * 2 + 1
    layer(x)
    rng = np.random.default_rng(5)
    values = [rng.normal(size=5).astype("float32") for _ in range(3)]
    values.append(rng.uniform(0.5, 1.5, 5).astype("float32"))
    for variable, value in zip(
        (layer.gamma, layer.beta, layer.moving_mean, layer.moving_variance), values
    ):
        variable.assign(value)
    reference = torch.nn.BatchNorm2d(5)
    with torch.no_grad():
        for tensor, value in zip(
            (reference.weight, reference.bias, reference.running_mean),
            values,
        ):
            tensor.copy_(torch.from_numpy(value))
        reference.running_var.copy_(torch.from_numpy(values[3]))
    torch_input = torch.from_numpy(np.transpose(x, (0, 3, 1, 2)))
    for training in (False, True, False):
        reference.train(training)
        with torch.no_grad():
            expected = reference(torch_input).numpy().transpose(0, 2, 3, 1)
        np.testing.assert_allclose(
            layer(x, training=training), expected, rtol=1e-5, atol=1e-5
        )
    np.testing.assert_allclose(layer.moving_mean, reference.running_mean, rtol=1e-5)
    # The unbiased batch variance, as PyTorch; Keras' own BN uses the biased one.
    np.testing.assert_allclose(layer.moving_variance, reference.running_var, rtol=1e-5)


def test_conditional_batch_norm_reads_mimicrys_embedding_layout():
    layer = MimicryConditionalBatchNormalization(num_classes=3, momentum=0.5)
    x = random_inputs((4, 2, 2, 2), seed=6)
    labels = np.array([0, 2, 1, 2], "int32")
    layer(x, labels)
    table = np.array(layer.embed)
    assert table.shape == (3, 4)
    np.testing.assert_allclose(table[:, :2].mean(), 1.0, atol=0.1)
    np.testing.assert_array_equal(table[:, 2:], 0.0)
    table = np.random.default_rng(7).normal(size=(3, 4)).astype("float32")
    layer.embed.assign(table)
    out = np.array(layer(x, labels, training=True))
    mean, var = x.mean((0, 1, 2)), x.var((0, 1, 2))
    normalized = (x - mean) / np.sqrt(var + 1e-5)
    gamma = table[labels, :2][:, None, None]
    beta = table[labels, 2:][:, None, None]
    np.testing.assert_allclose(out, gamma * normalized + beta, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean, 0.5 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        layer.moving_variance, 0.5 + 0.5 * var * 16 / 15, rtol=1e-5
    )


def test_round_trips(tmp_path):
    x = random_inputs((2, 6, 6, 3), seed=8)
    for layer in (
        TorchSpectralNormalization(keras.layers.Conv2D(4, 3, padding="same")),
        MimicrySpectralNormalization(keras.layers.Conv2D(4, 1)),
        TorchBatchNormalization(momentum=0.8, center=False),
    ):
        assert_keras_round_trip(layer, inputs=x, tmp_path=tmp_path)
    assert_keras_round_trip(
        MimicryConditionalBatchNormalization(num_classes=5),
        inputs=[x, np.array([1, 4], "int32")],
        tmp_path=tmp_path,
    )
    dense = MimicrySpectralNormalization(keras.layers.Dense(2), epsilon=1e-8)
    config = dense.get_config()
    assert config["epsilon"] == 1e-8
    restored = MimicrySpectralNormalization.from_config(config)
    assert restored.epsilon == 1e-8 and restored.layer.units == 2


def test_clear_errors():
    with pytest.raises(TypeError, match="Dense, Conv2D or Embedding"):
        TorchSpectralNormalization(keras.layers.Conv1D(2, 3))
    with pytest.raises(ValueError, match="momentum must be a number in"):
        TorchBatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match="known channel dimension"):
        TorchBatchNormalization().build((2, 4, 4, None))
    with pytest.raises(ValueError, match="num_classes must be an int >= 1"):
        MimicryConditionalBatchNormalization(num_classes=0)
