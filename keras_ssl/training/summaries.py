"""TensorBoard event files without the `tensorboard` package.

`tf.summary.scalar` and `tf.summary.image` live in the `tensorboard` pip
package, which TensorFlow no longer installs. The classic `Summary` protocol
buffers ship with TensorFlow itself and TensorBoard reads them natively, so
scalars (`simple_value`) and PNG images are written as raw summaries.
"""

import io

import numpy as np
import tensorflow as tf
from PIL import Image
from tensorflow.core.framework import summary_pb2


class SummaryWriter:
    """Append scalars and images to a TensorBoard log directory.

    Example:

    >>> import tempfile
    >>> writer = SummaryWriter(tempfile.mkdtemp())
    >>> writer.scalars({"loss": 0.5}, step=1)
    >>> writer.close()
    """

    def __init__(self, log_dir):
        self.log_dir = str(log_dir)
        self._writer = tf.summary.create_file_writer(self.log_dir)

    def _write(self, summary, step):
        with self._writer.as_default():
            tf.summary.experimental.write_raw_pb(
                summary.SerializeToString(), step=int(step)
            )

    def scalars(self, values, step):
        """Write a dict of `name -> number` at `step`."""
        summary = summary_pb2.Summary()
        for name, value in values.items():
            summary.value.add(tag=str(name), simple_value=float(value))
        self._write(summary, step)

    def image(self, tag, image, step):
        """Write one uint8 image `(H, W, C)` (C in 1, 3) as PNG at `step`."""
        image = np.asarray(image)
        height, width, channels = image.shape
        buffer = io.BytesIO()
        Image.fromarray(image[..., 0] if channels == 1 else image).save(
            buffer, format="PNG"
        )
        summary = summary_pb2.Summary()
        summary.value.add(
            tag=str(tag),
            image=summary_pb2.Summary.Image(
                height=height,
                width=width,
                colorspace=channels,
                encoded_image_string=buffer.getvalue(),
            ),
        )
        self._write(summary, step)

    def flush(self):
        self._writer.flush()

    def close(self):
        self._writer.close()
