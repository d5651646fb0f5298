"""keras_ssl: self-supervised representation learning and self-supervised GANs.

Subpackages, from the bottom up (lower ones never import higher ones):

- `keras_ssl.ops`, `keras_ssl.layers`, `keras_ssl.losses`: backend-agnostic
  building blocks written in `keras.ops`.
- `keras_ssl.architectures`: network builders (ResNet GANs, DCGAN, NIN, ...).
- `keras_ssl.methods`: one module per paper, each a `keras.Model` trained
  with `model.fit`.
- `keras_ssl.data`: datasets by name, image folders and zip archives.
- `keras_ssl.evaluation`: FID, IS, KID, linear probe, kNN, OOD AUROC.
- `keras_ssl.training`: strategies, callbacks, the recipe runner.
- `keras_ssl.export`, `keras_ssl.zoo`: SavedModel export and named presets.
"""

from keras_ssl import (
    architectures,
    data,
    evaluation,
    export,
    layers,
    losses,
    methods,
    ops,
    training,
    zoo,
)
from keras_ssl.version import __version__

__all__ = [
    "__version__",
    "architectures",
    "data",
    "evaluation",
    "export",
    "layers",
    "losses",
    "methods",
    "ops",
    "training",
    "zoo",
]
