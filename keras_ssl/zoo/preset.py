"""What a zoo preset records: its training recipe, its weights, its results."""

import copy
import dataclasses
import os

import yaml

_WEIGHT_KEYS = ("file", "path", "url")


@dataclasses.dataclass
class Preset:
    """A named, reproducible configuration of one method.

    A preset is what `keras_ssl.zoo.load(name)` builds. Its `recipe` is the
    full training configuration in the format of `keras-ssl train --recipe`
    (see docs/training.md): `method`, `model` (keyword arguments of the
    method's build function, including `image_size` and `channels`),
    `compile`, `data` and `train`. The same recipe is written to
    `zoo/<name>/recipe.yaml`; results are measured by
    `tools/train_presets.py`, never typed by hand.

    Args:
        name: `<method>_<dataset>`, e.g. `"ssgan_cifar10"`.
        recipe: the training configuration (a dict, see above).
        description: one line for `keras-ssl zoo list`.
        paper: the reference.
        architecture: the network, in words.
        dataset: the data the recipe trains on.
        weights: `None` when no trained weights are published, else a dict
            with one of `file` (in `keras_ssl/zoo/weights/`), `path` (a local
            file) or `url`, and the file's `sha256`.
        results: measured metrics of the published weights, with their setup.
        original: the authors' released checkpoint this preset converts,
            or None: a dict with `format` (a `keras_ssl.convert` format),
            `url` (None where no direct link exists), `page` (where to get
            the file by hand), `filename`, `sha256` (None until verified),
            `license`, `network` (the sub-model it loads into, e.g.
            `"generator"`), optional converter `options`, and `published`
            (the numbers the authors report, with their protocol). See
            `keras_ssl.zoo.originals`.
        slow: True for networks too large for quick tests (128x128 models).
        notes: sentences for the model card: choices of the recipe and what
            in it is not verified against the paper.

    Example:

    >>> preset = Preset("my_rotnet_digits", recipe={
    ...     "method": "rotnet", "model": {"image_size": 32, "channels": 1},
    ...     "data": {"source": "digits"}})
    >>> preset.method, preset.image_size, preset.channels
    ('rotnet', 32, 1)
    """

    name: str
    recipe: dict
    description: str = ""
    paper: str = ""
    architecture: str = ""
    dataset: str = ""
    weights: dict | None = None
    results: dict = dataclasses.field(default_factory=dict)
    original: dict | None = None
    slow: bool = False
    notes: list = dataclasses.field(default_factory=list)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(
                "Preset name must be an identifier such as 'ssgan_cifar10'. "
                f"Received: name={self.name!r}"
            )
        if not isinstance(self.recipe, dict):
            raise TypeError(
                f"Preset recipe must be a dict. Received: recipe={self.recipe!r}"
            )
        self.recipe = copy.deepcopy(self.recipe)
        for section in ("model", "compile", "data", "train"):
            value = self.recipe.setdefault(section, {})
            if value is None:
                self.recipe[section] = {}
            elif not isinstance(value, dict):
                raise TypeError(
                    f"Preset recipe section {section!r} must be a dict. "
                    f"Received: {section}={value!r}"
                )
        method = self.recipe.get("method")
        if not isinstance(method, str) or not method:
            raise ValueError(
                "Preset recipe must name a method. "
                f"Received: method={method!r} in preset {self.name!r}"
            )
        for key, default in (("image_size", 32), ("channels", 3)):
            value = self.recipe["model"].get(key, self.recipe["data"].get(key))
            value = default if value is None else value
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"Preset {key} must be a positive integer. "
                    f"Received: {key}={value!r} in preset {self.name!r}"
                )
            self.recipe["model"][key] = value
            self.recipe["data"][key] = value
        if self.results is None:
            self.results = {}
        if self.notes is None:
            self.notes = []
        if not isinstance(self.notes, list) or not all(
            isinstance(note, str) for note in self.notes
        ):
            raise TypeError(
                "Preset notes must be a list of strings. "
                f"Received: notes={self.notes!r} in preset {self.name!r}"
            )
        if self.weights is not None:
            if not isinstance(self.weights, dict) or (
                sum(k in self.weights for k in _WEIGHT_KEYS) != 1
            ):
                raise ValueError(
                    "Preset weights must be None or a dict with exactly one of "
                    f"{_WEIGHT_KEYS} (and a 'sha256'). "
                    f"Received: weights={self.weights!r}"
                )
            if "url" in self.weights and not self.weights.get("sha256"):
                raise ValueError(
                    "Preset weights downloaded from a URL need their 'sha256'. "
                    f"Received: weights={self.weights!r}"
                )

        if self.original is not None:
            required = ("format", "network", "filename")
            if not isinstance(self.original, dict) or any(
                k not in self.original for k in required
            ):
                raise ValueError(
                    f"Preset original must be None or a dict with {required}. "
                    f"Received: original={self.original!r} in preset {self.name!r}"
                )

    @property
    def method(self):
        return self.recipe["method"]

    @property
    def method_config(self):
        """Keyword arguments of the method's build function."""
        return dict(self.recipe["model"])

    @property
    def image_size(self):
        return self.recipe["model"]["image_size"]

    @property
    def channels(self):
        return self.recipe["model"]["channels"]

    @property
    def num_classes(self):
        """Classes of a class-conditional or label-using method, else None."""
        return self.recipe["model"].get("num_classes")

    @property
    def has_weights(self):
        return self.weights is not None or self.original is not None

    @property
    def recipe_path(self):
        return f"zoo/{self.name}/recipe.yaml"

    @property
    def train_command(self):
        return f"keras-ssl train --recipe {self.recipe_path}"

    def build_config(self, **overrides):
        """Keyword arguments for `build_method(self.method, **config)`."""
        config = self.method_config
        config.update(overrides)
        return config

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, config):
        if not isinstance(config, dict):
            raise TypeError(f"A preset must be a dict. Received: {config!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(
                f"Unknown preset keys {unknown}; expected some of {sorted(known)}. "
                f"Received: preset {config.get('name')!r}"
            )
        return cls(**config)

    @classmethod
    def from_yaml(cls, path):
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No preset file at {path}")
        with open(path, encoding="utf-8") as file:
            return cls.from_dict(yaml.safe_load(file))

    def to_yaml(self):
        return yaml.safe_dump(self.to_dict(), sort_keys=False)
