import numbers

import keras
import numpy as np
from keras import ops

from keras_ssl.layers._spectral import (
    check_singular_vector,
    is_left,
    spectral_sigma_any,
)

_CONV = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
_CONV_TRANSPOSE = (
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
)
_SUPPORTED = (keras.layers.Dense, keras.layers.Embedding) + _CONV + _CONV_TRANSPOSE


@keras.saving.register_keras_serializable(package="keras_ssl")
class SpectralNormalization(keras.layers.Wrapper):
    """Runs a Dense, convolution or Embedding layer with weights `W / sigma(W)`.

    `sigma(W)` is the largest singular value of the kernel reshaped to
    `(-1, out)`, estimated by power iteration from a persistent vector `u`
    (a non-trainable weight). The forward pass computes the wrapped layer's
    output with the normalised kernel, and the gradient flows through
    `sigma`: `d/dW [W / sigma(W)]` includes the `-W v^T u / sigma^2` term of
    Miyato et al. (Algorithm 1), as in the authors' code, compare_gan and
    PyTorch. The kernel variable itself always holds the raw `W`.

    This differs from `keras.layers.SpectralNormalization`, which writes
    `W / sigma` back into the kernel and so passes no gradient through sigma
    (the update is then not the gradient of the normalised network).

    By default `u` is updated (`power_iterations` rounds, no gradient through
    `u` or `v`) only when `training=True`; at inference sigma is evaluated
    from the stored `u`, so outputs do not change from call to call. With
    `update_at_inference=True` every call iterates and stores `u`, as
    compare_gan's `spectral_norm` does (its update is a control dependency of
    the normalised kernel, in training and inference graphs alike).

    Reference: Miyato, Kataoka, Koyama & Yoshida, "Spectral Normalization for
    Generative Adversarial Networks", ICLR 2018.

    Args:
        layer: a `keras.layers.Dense`, `Conv1D`/`Conv2D`/`Conv3D` ("valid" or
            "same" padding), `Conv1DTranspose`/`Conv2DTranspose`/
            `Conv3DTranspose` or `Embedding` instance.
        power_iterations: power-iteration rounds per training call (1 in
            SN-GAN and compare_gan).
        singular_vector: which singular vector `u` persists, for the kernel
            reshaped to (R, C) = (-1, out): "right" (shape (1, C), SN-GAN and
            PyTorch), "left" (shape (R, 1), compare_gan's default) or "auto"
            (the shorter one, "left" on a tie; compare_gan's BigGAN setting).
            Both give the same sigma estimate up to the iteration's start.
        update_at_inference: iterate and store `u` in inference calls too
            (compare_gan's behaviour).

    Example:

    >>> import numpy as np
    >>> conv = SpectralNormalization(keras.layers.Conv2D(8, 3, padding="same"))
    >>> x = np.random.normal(size=(2, 16, 16, 3)).astype("float32")
    >>> tuple(conv(x, training=True).shape)
    (2, 16, 16, 8)
    """

    def __init__(
        self,
        layer,
        power_iterations=1,
        singular_vector="right",
        update_at_inference=False,
        **kwargs,
    ):
        if not isinstance(layer, keras.layers.Layer):
            raise TypeError(
                "SpectralNormalization expects a Keras layer to wrap. "
                f"Received: layer={layer!r}"
            )
        if not isinstance(layer, _SUPPORTED):
            raise TypeError(
                "SpectralNormalization supports Dense, Conv1D/2D/3D, "
                "Conv1D/2D/3DTranspose and Embedding layers. "
                f"Received: layer of type {type(layer).__name__}"
            )
        if isinstance(layer, _CONV) and layer.padding == "causal":
            raise ValueError(
                "SpectralNormalization supports convolutions with padding "
                f"'valid' or 'same'. Received: padding={layer.padding!r}"
            )
        if getattr(layer, "lora_enabled", False):
            raise ValueError(
                "SpectralNormalization does not support LoRA-enabled layers. "
                f"Received: layer {layer.name} with lora_rank={layer.lora_rank}"
            )
        if (
            isinstance(power_iterations, bool)
            or not isinstance(power_iterations, numbers.Integral)
            or power_iterations < 1
        ):
            raise ValueError(
                "SpectralNormalization expects power_iterations to be an int "
                f">= 1. Received: power_iterations={power_iterations!r}"
            )
        super().__init__(layer, **kwargs)
        self.power_iterations = int(power_iterations)
        self.singular_vector = check_singular_vector(
            singular_vector, "SpectralNormalization"
        )
        self.update_at_inference = bool(update_at_inference)
        self.supports_masking = getattr(layer, "supports_masking", False)

    def build(self, input_shape=None):
        super().build(input_shape)
        kernel = self._kernel()
        rows = int(np.prod(kernel.shape[:-1]))
        self._left = is_left(rows, kernel.shape[-1], self.singular_vector)
        self.u = self.add_weight(
            name="u",
            shape=(rows, 1) if self._left else (1, kernel.shape[-1]),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            trainable=False,
            autocast=False,
            # Every replica computes the same u from the same W; "mean" only
            # makes the assignment legal inside a replica context.
            aggregation="mean",
        )
        self.built = True

    def _kernel(self):
        if isinstance(self.layer, keras.layers.Embedding):
            return self.layer.embeddings
        return self.layer.kernel

    def _normalize(self, training):
        kernel = self._kernel()
        matrix = ops.cast(ops.reshape(kernel, (-1, kernel.shape[-1])), "float32")
        update = training or self.update_at_inference
        iterations = self.power_iterations if update else 0
        sigma, u = spectral_sigma_any(matrix, self.u.value, iterations, self._left)
        if update:
            self.u.assign(ops.cast(u, self.u.dtype))
        return kernel / ops.cast(sigma, kernel.dtype)

    def normalized_kernel(self):
        """The kernel `W / sigma(W)` with sigma from the stored `u` (no update)."""
        kernel = self._kernel()
        matrix = ops.cast(ops.reshape(kernel, (-1, kernel.shape[-1])), "float32")
        sigma, _ = spectral_sigma_any(matrix, self.u.value, 0, self._left)
        return kernel / ops.cast(sigma, kernel.dtype)

    def call(self, inputs, training=None):
        kernel = self._normalize(bool(training))
        layer = self.layer
        if isinstance(layer, keras.layers.Embedding):
            if "int" not in str(inputs.dtype):
                inputs = ops.cast(inputs, "int32")
            return ops.cast(ops.take(kernel, inputs, axis=0), self.compute_dtype)
        if isinstance(layer, keras.layers.Dense):
            outputs = ops.matmul(inputs, kernel)
            if layer.use_bias:
                outputs = ops.add(outputs, layer.bias)
        else:
            if isinstance(layer, _CONV):
                outputs = ops.conv(
                    inputs,
                    kernel,
                    strides=list(layer.strides),
                    padding=layer.padding,
                    dilation_rate=layer.dilation_rate,
                    data_format=layer.data_format,
                )
            else:
                outputs = ops.conv_transpose(
                    inputs,
                    kernel,
                    strides=list(layer.strides),
                    padding=layer.padding,
                    output_padding=layer.output_padding,
                    dilation_rate=layer.dilation_rate,
                    data_format=layer.data_format,
                )
            if layer.use_bias:
                if layer.data_format == "channels_last":
                    bias_shape = (1,) * (layer.rank + 1) + (layer.filters,)
                else:
                    bias_shape = (1, layer.filters) + (1,) * layer.rank
                outputs = ops.add(outputs, ops.reshape(layer.bias, bias_shape))
        if layer.activation is not None:
            outputs = layer.activation(outputs)
        return outputs

    def compute_mask(self, inputs, mask=None):
        return self.layer.compute_mask(inputs, mask)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "power_iterations": self.power_iterations,
                "singular_vector": self.singular_vector,
                "update_at_inference": self.update_at_inference,
            }
        )
        return config
