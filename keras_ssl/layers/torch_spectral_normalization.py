import keras
from keras import ops

_SUPPORTED = (keras.layers.Dense, keras.layers.Conv2D, keras.layers.Embedding)


def torch_normalize(x, epsilon=1e-12):
    """`x / max(||x||, epsilon)`, PyTorch's `F.normalize` on a vector."""
    return x / ops.maximum(ops.sqrt(ops.sum(ops.square(x))), epsilon)


@keras.saving.register_keras_serializable(package="keras_ssl")
class TorchSpectralNormalization(keras.layers.Wrapper):
    """A Dense, Conv2D or Embedding layer run with `W / sigma(W)`, as PyTorch does.

    The semantics of `torch.nn.utils.spectral_norm`, which Mimicry's
    convolutions use: the layer keeps both power-iteration vectors, `u`
    (one entry per output unit, PyTorch's `weight_u`) and `v` (one per
    input entry of the reshaped weight, `weight_v`). With `M` the weight as
    a (out, in) matrix:

    - `training=True`: one power iteration, `v = normalize(M^T u)`,
      `u = normalize(M v)`, both stored; then `sigma = u . (M v)`;
    - otherwise: `sigma = u . (M v)` from the stored `u` and `v`, with no
      iteration and no update.

    `u` and `v` are constants for the gradient, which flows through `sigma`.
    `normalize(x) = x / max(||x||, 1e-12)`. A Conv2D's `M` rows are the
    filters and its columns follow Keras' kernel layout (kh, kw, in): a
    converter of PyTorch's `weight_v`, laid out (in, kh, kw), permutes it.
    An Embedding's `M` is its (input_dim, output_dim) table.

    This differs from `SpectralNormalization`, which keeps only `u` and
    re-derives `v` from it at inference.

    Reference: Miyato, Kataoka, Koyama & Yoshida, "Spectral Normalization for
    Generative Adversarial Networks", ICLR 2018; PyTorch
    `torch/nn/utils/spectral_norm.py`.

    Args:
        layer: a `keras.layers.Dense`, `Conv2D` or `Embedding` instance.
        epsilon: the floor of a vector's norm when it is normalised.

    Example:

    >>> import numpy as np
    >>> conv = TorchSpectralNormalization(keras.layers.Conv2D(8, 3, padding="same"))
    >>> x = np.random.normal(size=(2, 16, 16, 3)).astype("float32")
    >>> tuple(conv(x, training=True).shape), tuple(conv.v.shape)
    ((2, 16, 16, 8), (27,))
    """

    def __init__(self, layer, epsilon=1e-12, **kwargs):
        if not isinstance(layer, _SUPPORTED):
            raise TypeError(
                f"{type(self).__name__} wraps a keras.layers.Dense, Conv2D or "
                f"Embedding. Received: layer={layer!r}"
            )
        super().__init__(layer, **kwargs)
        self.epsilon = float(epsilon)

    def _vector(self, name, size):
        vector = self.add_weight(
            name=name,
            shape=(size,),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            trainable=False,
            autocast=False,
            # Every replica computes the same vectors from the same W; "mean"
            # only makes the assignment legal inside a replica context.
            aggregation="mean",
        )
        vector.assign(torch_normalize(vector.value, self.epsilon))
        return vector

    def build(self, input_shape=None):
        super().build(input_shape)
        rows, cols = self.matrix_shape
        self.u = self._vector("u", rows)
        self.v = self._vector("v", cols)
        self.built = True

    @property
    def kernel(self):
        if isinstance(self.layer, keras.layers.Embedding):
            return self.layer.embeddings
        return self.layer.kernel

    @property
    def matrix_shape(self):
        """(rows, cols) of `M`: (out, in) of the layer's weight as a matrix."""
        shape = tuple(self.kernel.shape)
        if isinstance(self.layer, keras.layers.Embedding):
            return shape
        cols = 1
        for size in shape[:-1]:
            cols *= size
        return shape[-1], cols

    def matrix(self):
        """The weight as the (out, in) matrix `M`, float32."""
        kernel = ops.cast(self.kernel, "float32")
        if isinstance(self.layer, keras.layers.Embedding):
            return kernel
        return ops.transpose(ops.reshape(kernel, (-1, kernel.shape[-1])))

    def sigma(self, training=False):
        """The estimate of `M`'s largest singular value (updates u, v if training)."""
        matrix = self.matrix()
        u = ops.stop_gradient(self.u.value)
        v = ops.stop_gradient(self.v.value)
        if training:
            v = torch_normalize(ops.matmul(u, matrix), self.epsilon)
            u = torch_normalize(ops.matmul(matrix, v), self.epsilon)
            u, v = ops.stop_gradient(u), ops.stop_gradient(v)
            self.u.assign(u)
            self.v.assign(v)
        return ops.sum(u * ops.matmul(matrix, v))

    def call(self, inputs, training=None):
        sigma = self.sigma(bool(training))
        kernel = self.kernel / ops.cast(sigma, self.kernel.dtype)
        return _apply(self.layer, kernel, inputs, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon})
        return config


def _apply(layer, kernel, inputs, compute_dtype):
    """`layer`'s forward pass with `kernel` in place of its own weight."""
    if isinstance(layer, keras.layers.Embedding):
        if "int" not in str(inputs.dtype):
            inputs = ops.cast(inputs, "int32")
        return ops.cast(ops.take(kernel, inputs, axis=0), compute_dtype)
    if isinstance(layer, keras.layers.Dense):
        outputs = ops.matmul(inputs, kernel)
    else:
        outputs = ops.conv(
            inputs,
            kernel,
            strides=list(layer.strides),
            padding=layer.padding,
            dilation_rate=layer.dilation_rate,
            data_format=layer.data_format,
        )
    if layer.use_bias:
        if isinstance(layer, keras.layers.Conv2D) and (
            layer.data_format == "channels_first"
        ):
            outputs = ops.add(outputs, ops.reshape(layer.bias, (1, -1, 1, 1)))
        else:
            outputs = ops.add(outputs, layer.bias)
    if layer.activation is not None:
        outputs = layer.activation(outputs)
    return outputs
