import keras
from keras import ops

from keras_ssl.utils.validation import check_int


@keras.saving.register_keras_serializable(package="keras_ssl")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads height and width by reflecting the image at its borders.

    The CycleGAN ResNet generator pads with reflection before its 7x7 and
    3x3 convolutions to avoid the dark borders zero padding causes (Zhu,
    Park, Isola & Efros, "Unpaired Image-to-Image Translation using
    Cycle-Consistent Adversarial Networks", ICCV 2017; PyTorch's
    `nn.ReflectionPad2d`): the border pixel is not repeated, so row `-1` is
    row `1`.

    Args:
        padding: an int (the same on all four sides) or
            `((top, bottom), (left, right))`. Each must be smaller than the
            padded dimension.

    Example:

    >>> x = ops.reshape(ops.arange(9, dtype="float32"), (1, 3, 3, 1))
    >>> ops.convert_to_numpy(ReflectionPadding2D(1)(x))[0, :, :, 0].tolist()[0]
    [4.0, 3.0, 4.0, 5.0, 4.0]
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, int) and not isinstance(padding, bool):
            padding = ((padding, padding), (padding, padding))
        try:
            (top, bottom), (left, right) = padding
        except (TypeError, ValueError):
            raise ValueError(
                "padding must be an int or ((top, bottom), (left, right)). "
                f"Received: padding={padding!r}"
            ) from None
        self.padding = tuple(
            (
                check_int(a, "padding", minimum=0),
                check_int(b, "padding", minimum=0),
            )
            for a, b in ((top, bottom), (left, right))
        )

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                "ReflectionPadding2D expects (B, H, W, C) inputs. "
                f"Received: input_shape={input_shape}"
            )
        for size, pads, axis in zip(input_shape[1:3], self.padding, ("H", "W")):
            if size is not None and max(pads) >= size:
                raise ValueError(
                    f"ReflectionPadding2D needs padding smaller than the input "
                    f"{axis} ({size}). Received: padding={self.padding}"
                )

    def call(self, inputs):
        (top, bottom), (left, right) = self.padding
        return ops.pad(
            inputs, ((0, 0), (top, bottom), (left, right), (0, 0)), mode="reflect"
        )

    def compute_output_shape(self, input_shape):
        (top, bottom), (left, right) = self.padding
        batch, height, width, channels = input_shape
        height = None if height is None else height + top + bottom
        width = None if width is None else width + left + right
        return (batch, height, width, channels)

    def get_config(self):
        config = super().get_config()
        config.update({"padding": [list(p) for p in self.padding]})
        return config
