"""Training configurations ("recipes"): defaults, YAML files and overrides.

A recipe is a dict with five sections, usually written as YAML:

    method: ssgan                 # a name from keras_ssl.methods.list_methods()
    model: {}                     # keyword arguments of the method's build function
    compile: {}                   # keyword arguments of model.compile()
    data: {source: digits, split: train, image_size: 32}
    train: {steps: 2000, batch_size: 64, checkpoint_every: 500}
    out: runs/ssgan-digits

`DEFAULTS` lists every key with its default; docs/training.md explains
them. Overrides are `section.key=value` strings whose value is parsed as
YAML (`train.steps=100`, `model.base_channels=32`, `data.limit=null`).
"""

import copy
import os

import yaml

from keras_ssl.utils.validation import check_int, check_number

DEFAULTS = {
    "method": None,
    "model": {},
    "compile": {},
    "data": {
        "source": None,
        "split": "train",
        "image_size": None,
        "channels": None,
        "limit": None,
        "augment": None,
        "labeled": True,
        "shuffle": True,
        "data_dir": None,
        "download": True,
    },
    "train": {
        "steps": 1000,
        "batch_size": 64,
        "steps_per_epoch": 100,
        "checkpoint_every": 500,
        "keep_checkpoints": 2,
        "sample_every": 500,
        "num_samples": 64,
        "log_every": 50,
        "max_hours": None,
        "seed": 0,
        "strategy": "auto",
        "devices": None,
        "mixed_precision": None,
        "sync_batch_norm": False,
        "deterministic": False,
        "verbose": "auto",
    },
    "out": None,
}

SECTIONS = ("model", "compile", "data", "train")
# Sections whose keys are free-form (passed through to the method).
OPEN_SECTIONS = ("model", "compile")


def default_config():
    """A deep copy of `DEFAULTS`."""
    return copy.deepcopy(DEFAULTS)


def load_config(path):
    """Read a recipe from a YAML file; returns a dict (not yet merged)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No config file at {path}")
    with open(path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle) or {}
    if not isinstance(config, dict):
        raise ValueError(
            f"A config file must hold a mapping of sections. Received in {path}: "
            f"{type(config).__name__}"
        )
    return config


def merge_config(base, update):
    """Recursively merge `update` into a copy of `base` (update wins)."""
    merged = copy.deepcopy(base)
    for key, value in (update or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_config(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def parse_override(text):
    """`"train.steps=100"` -> `(("train", "steps"), 100)`; values are YAML."""
    if not isinstance(text, str) or "=" not in text:
        raise ValueError(
            "An override must look like section.key=value, e.g. train.steps=100. "
            f"Received: {text!r}"
        )
    key, raw = text.split("=", 1)
    parts = tuple(p for p in key.strip().split(".") if p)
    if not parts:
        raise ValueError(f"An override needs a key before '='. Received: {text!r}")
    return parts, yaml.safe_load(raw) if raw.strip() else None


def apply_overrides(config, overrides):
    """Apply `section.key=value` strings to a copy of `config`."""
    config = copy.deepcopy(config)
    for text in overrides or ():
        parts, value = parse_override(text)
        node = config
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value
    return config


def resolve_config(*layers, overrides=None):
    """Defaults, then each layer (dict or YAML path), then overrides; validated."""
    config = default_config()
    for layer in layers:
        if layer is None:
            continue
        if not isinstance(layer, dict):
            layer = load_config(layer)
        config = merge_config(config, layer)
    config = apply_overrides(config, overrides)
    validate_config(config)
    return config


def validate_config(config):
    """Raise a clear error for unknown keys and bad values."""
    known = set(DEFAULTS)
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(
            f"Unknown config section(s) {unknown}. Expected keys: {sorted(known)}"
        )
    for section in SECTIONS:
        if not isinstance(config.get(section), dict):
            raise ValueError(
                f"Config section {section!r} must be a mapping. "
                f"Received: {section}={config.get(section)!r}"
            )
        if section in OPEN_SECTIONS:
            continue
        unknown = sorted(set(config[section]) - set(DEFAULTS[section]))
        if unknown:
            raise ValueError(
                f"Unknown key(s) {unknown} in config section {section!r}. "
                f"Expected: {sorted(DEFAULTS[section])}"
            )
    if not isinstance(config["method"], str) or not config["method"]:
        raise ValueError(
            "The config must name a method (e.g. method: ssgan). "
            f"Received: method={config['method']!r}"
        )
    train = config["train"]
    for key in (
        "steps",
        "batch_size",
        "steps_per_epoch",
        "keep_checkpoints",
        "num_samples",
        "log_every",
    ):
        check_int(train[key], f"train.{key}")
    for key in ("checkpoint_every", "sample_every"):
        check_int(
            train[key],
            f"train.{key}",
            minimum=0,
            allow_none=True,
            context="(0 or null: never)",
        )
    check_number(
        train["max_hours"],
        "train.max_hours",
        minimum=0,
        exclusive_minimum=True,
        allow_none=True,
    )
    from keras_ssl.training.distribute import STRATEGY_KINDS
    from keras_ssl.training.precision import POLICIES

    if train["strategy"] not in STRATEGY_KINDS:
        raise ValueError(
            f"train.strategy must be one of {STRATEGY_KINDS}. "
            f"Received: strategy={train['strategy']!r}"
        )
    if train["mixed_precision"] not in POLICIES:
        raise ValueError(
            f"train.mixed_precision must be one of {POLICIES}. "
            f"Received: mixed_precision={train['mixed_precision']!r}"
        )
    if train["verbose"] not in ("auto", 0, 1, 2):
        raise ValueError(
            "train.verbose must be 'auto', 0, 1 or 2. "
            f"Received: verbose={train['verbose']!r}"
        )
    if config["data"]["source"] is None:
        raise ValueError(
            "The config must name a data source (data.source, or --data). "
            "Received: source=None"
        )
    return config


def dump_config(config, path):
    """Write `config` as YAML at `path` (atomically)."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle, sort_keys=False)
    os.replace(temporary, path)
    return path
