"""keras_ssl: self-supervised representation learning and self-supervised GANs.

Subpackages, from the bottom up (lower ones never import higher ones, with
one exception: methods take replica slicing from `training.distribute`):

- `keras_ssl.ops`, `keras_ssl.layers`, `keras_ssl.losses`: backend-agnostic
  building blocks written in `keras.ops`.
- `keras_ssl.architectures`: network builders (ResNet GANs, DCGAN, NIN, ...).
- `keras_ssl.methods`: one module per paper, each a `keras.Model` trained
  with `model.fit`.
- `keras_ssl.data`: datasets by name, image folders and zip archives.
- `keras_ssl.evaluation`: FID, IS, KID, linear probe, kNN, OOD AUROC.
- `keras_ssl.training`: strategies, callbacks, the recipe runner.
- `keras_ssl.export`, `keras_ssl.zoo`: SavedModel export and named presets.
- `keras_ssl.convert`: readers of the originals' released weights.

Subpackages are imported on first use, so `import keras_ssl.layers` (and
`.ops`, `.losses`, `.architectures`, `.methods`) needs only Keras and any
backend: TensorFlow is imported only by the parts that use it (data
pipelines, the recipe runner, summaries, export). `import keras_ssl` also
imports `layers` and every method, on every backend, so that every
serializable class is registered and `keras.saving.load_model` reads a
saved keras_ssl model right away (Keras imports no third-party module
while loading).
"""

import importlib

from keras_ssl.commands._quiet import quiet_native_logs

# The `keras-ssl` command hides TensorFlow's native log lines, which has to
# happen before Keras imports TensorFlow; elsewhere this does nothing.
quiet_native_logs()

from keras_ssl.version import __version__  # noqa: E402

_SUBPACKAGES = (
    "architectures",
    "convert",
    "data",
    "evaluation",
    "export",
    "layers",
    "losses",
    "methods",
    "ops",
    "training",
    "utils",
    "zoo",
)

__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name):
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBPACKAGES))


# Register every serializable class (see the module docstring).
from keras_ssl import layers, methods  # noqa: E402, F401

methods.import_all()
