import keras
from keras import ops

from keras_ssl.layers.torch_spectral_normalization import (
    TorchSpectralNormalization,
    torch_normalize,
)


@keras.saving.register_keras_serializable(package="keras_ssl")
class MimicrySpectralNormalization(TorchSpectralNormalization):
    """A Dense, Conv2D or Embedding layer run with `W / sigma(W)`, as Mimicry's own SN.

    The semantics of `torch_mimicry.modules.spectral_norm` (`SNLinear`,
    `SNEmbedding`, `SNConv2d`), which some of Mimicry's discriminators use
    for their last linear layers. The layer keeps one vector `u` (one entry
    per output unit; Mimicry's `sn_u` of shape (1, out)) and, with `M` the
    weight as a (out, in) matrix, does one power iteration in EVERY mode:

        v = normalize(u M),  u' = normalize(v M^T),  sigma = u' M v^T

    and stores `u'` only when `training=True`. So unlike
    `TorchSpectralNormalization` (PyTorch's `spectral_norm`), inference
    still iterates once, from the stored `u`, without writing it back.
    Mimicry's `sn_sigma` buffer is written in training but never read, so
    this layer does not keep it.

    Reference: Miyato, Kataoka, Koyama & Yoshida, "Spectral Normalization for
    Generative Adversarial Networks", ICLR 2018; Lee & Town, "Mimicry:
    Towards the Reproducibility of GAN Research", CVPR Workshops 2020.

    Args:
        layer: a `keras.layers.Dense`, `Conv2D` or `Embedding` instance.
        epsilon: the floor of a vector's norm when it is normalised.

    Example:

    >>> import numpy as np
    >>> dense = MimicrySpectralNormalization(keras.layers.Dense(4))
    >>> x = np.random.normal(size=(2, 8)).astype("float32")
    >>> before = np.array(dense(x))
    >>> np.allclose(before, dense(x)), tuple(dense.u.shape)
    (True, (4,))
    """

    def build(self, input_shape=None):
        keras.layers.Wrapper.build(self, input_shape)
        rows, _ = self.matrix_shape
        self.u = self._vector("u", rows)
        self.built = True

    def sigma(self, training=False):
        """One power iteration from the stored `u` (stored back if training)."""
        matrix = self.matrix()
        u = ops.stop_gradient(self.u.value)
        v = ops.stop_gradient(torch_normalize(ops.matmul(u, matrix), self.epsilon))
        u = ops.stop_gradient(torch_normalize(ops.matmul(matrix, v), self.epsilon))
        if training:
            self.u.assign(u)
        return ops.sum(u * ops.matmul(matrix, v))
