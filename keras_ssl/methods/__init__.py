"""One module per paper; each registers a `build_<method>` factory by name.

Modules are imported on first use (`keras_ssl.methods.GAN`,
`build_method("gan")`); none imports TensorFlow at import time, so every
method trains under any backend, and TensorFlow is imported only by the
functions that build `tf.data` pipelines. `import keras_ssl` imports them
all (`import_all`), so that `keras.saving.load_model` finds every class.
"""

import importlib

from keras_ssl.methods.registry import (
    BUILTIN_METHODS,
    build_method,
    get_builder,
    list_methods,
    register_method,
)
from keras_ssl.utils.imports import lazy_exports

_EXPORTS = {
    "BiGAN": "bigan",
    "Colorization": "colorization",
    "ColorizationProxy": "colorization_proxy",
    "ConditionalGAN": "cgan",
    "ContextEncoder": "context_encoder",
    "ContextPrediction": "context_prediction",
    "CycleGAN": "cyclegan",
    "DeepPermNet": "deeppermnet",
    "Exemplar": "exemplar",
    "GAN": "gan",
    "InstanceDiscrimination": "instance_discrimination",
    "Jigsaw": "jigsaw",
    "KNNMonitor": "instance_discrimination",
    "LinearDecay": "cyclegan",
    "MultiTask": "multitask",
    "Pix2Pix": "pix2pix",
    "PretextTask": "pretext_task",
    "RotNet": "rotnet",
    "RotationAuxiliary": "rotation_auxiliary",
    "RotationDecoupling": "rotation_decoupling",
    "S3GAN": "s3gan",
    "SSGAN": "ssgan",
    "SplitBrain": "split_brain",
    "TileTask": "tile_task",
    "TransitiveInvariance": "transitive_invariance",
    "build_bigan": "bigan",
    "build_cgan": "cgan",
    "build_colorization": "colorization",
    "build_colorization_proxy": "colorization_proxy",
    "build_context_encoder": "context_encoder",
    "build_context_prediction": "context_prediction",
    "build_cyclegan": "cyclegan",
    "build_deeppermnet": "deeppermnet",
    "build_exemplar": "exemplar",
    "build_gan": "gan",
    "build_instance_discrimination": "instance_discrimination",
    "build_jigsaw": "jigsaw",
    "build_multitask": "multitask",
    "build_pix2pix": "pix2pix",
    "build_rotation_auxiliary": "rotation_auxiliary",
    "build_rotation_decoupling": "rotation_decoupling",
    "build_rotnet": "rotnet",
    "build_s3gan": "s3gan",
    "build_split_brain": "split_brain",
    "build_ssgan": "ssgan",
    "build_transitive_invariance": "transitive_invariance",
    "cluster_labels": "s3gan",
    "mask_labels": "s3gan",
}

# Every module: one per built-in method, and the bases they share.
_SUBMODULES = (
    *BUILTIN_METHODS,
    "adversarial",
    "backend_step",
    "image_methods",
    "pretext_task",
    "registry",
    "tile_task",
)

__all__ = [
    *sorted(_EXPORTS),
    "build_method",
    "get_builder",
    "list_methods",
    "register_method",
]

__getattr__, __dir__ = lazy_exports(
    __name__, {**_EXPORTS, **{name: name for name in _SUBMODULES}}
)


def import_all():
    """Import every method module, registering every class with Keras."""
    for name in _SUBMODULES:
        importlib.import_module(f"{__name__}.{name}")
