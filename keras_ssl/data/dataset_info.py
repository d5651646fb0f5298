"""Metadata about a dataset split."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What `keras_ssl.data.info` reports about one split of a source.

    Attributes:
        name: the source as given (TFDS name, path or `"digits"`).
        split: the split described.
        num_examples: number of images in the split.
        class_names: class names in label order (empty for unlabeled data).
        image_shape: `(height, width, channels)` of the stored images, with
            `None` for a dimension that varies between images.
    """

    name: str
    split: str
    num_examples: int
    class_names: tuple
    image_shape: tuple

    @property
    def num_classes(self):
        return len(self.class_names)

    def summary(self):
        """A few human-readable lines (used by `keras-ssl data info`)."""
        shape = "x".join("?" if d is None else str(d) for d in self.image_shape)
        classes = ", ".join(self.class_names) if self.class_names else "unlabeled"
        return (
            f"source: {self.name}\n"
            f"split: {self.split}\n"
            f"examples: {self.num_examples}\n"
            f"image shape: {shape}\n"
            f"classes ({self.num_classes}): {classes}"
        )
