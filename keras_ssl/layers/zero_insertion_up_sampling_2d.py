import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_ssl")
class ZeroInsertionUpSampling2D(keras.layers.Layer):
    """Doubles height and width by placing each pixel at (2i, 2j), zeros elsewhere.

    The "unpooling" of Dosovitskiy et al., which compare_gan's ResNet
    generators use instead of nearest-neighbour up-sampling (its
    `resnet_ops.unpool`): of each 2x2 output cell only the top-left position
    carries the input value, the three others are 0. A following 3x3
    convolution then acts like a learned interpolation.

    Reference: Dosovitskiy, Springenberg & Brox, "Learning to Generate Chairs
    with Convolutional Neural Networks", CVPR 2015; google/compare_gan.

    Example:

    >>> x = ops.reshape(ops.arange(1.0, 5.0), (1, 2, 2, 1))
    >>> y = ops.convert_to_numpy(ZeroInsertionUpSampling2D()(x))[0, :, :, 0]
    >>> y.tolist()[0], y.tolist()[1]
    ([1.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0])
    """

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                "ZeroInsertionUpSampling2D expects inputs of rank 4 (B, H, W, C). "
                f"Received: input_shape={input_shape}"
            )

    def call(self, inputs):
        shape = ops.shape(inputs)
        height, width, channels = shape[1], shape[2], inputs.shape[-1]
        zeros = ops.zeros_like(inputs)
        rows = ops.reshape(
            ops.stack([inputs, zeros], axis=3), (-1, height, 2 * width, channels)
        )
        return ops.reshape(
            ops.stack([rows, ops.zeros_like(rows)], axis=2),
            (-1, 2 * height, 2 * width, channels),
        )

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (
            batch,
            None if height is None else 2 * height,
            None if width is None else 2 * width,
            channels,
        )
