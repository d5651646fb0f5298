"""Named presets: `load("ssgan_cifar10")`, `classifier(...)`, `register(...)`.

Each preset is one YAML file in `keras_ssl/zoo/presets/` recording the
method, its configuration, the training recipe and the weight source; see
`docs/zoo.md`.
"""

from keras_ssl.zoo.classifier import at_image_size, classifier, feature_extractor
from keras_ssl.zoo.preset import Preset
from keras_ssl.zoo.registry import (
    get_preset,
    info,
    list_presets,
    load,
    register,
    unregister,
)
from keras_ssl.zoo.targets import load_target
from keras_ssl.zoo.weights import cache_dir

__all__ = [
    "Preset",
    "at_image_size",
    "cache_dir",
    "classifier",
    "feature_extractor",
    "get_preset",
    "info",
    "list_presets",
    "load",
    "load_target",
    "register",
    "unregister",
]
