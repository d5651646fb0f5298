"""Methods by name, so that recipes, the CLI and the zoo can build any of them.

Each method module registers its `build_<method>` factory:

    @register_method("ssgan")
    def build_ssgan(image_size=32, channels=3, ...): ...

and `build_method("ssgan", image_size=32)` calls it.

Builders follow one policy: they return an uncompiled model, and
`model.compile()` without arguments gives the method's (the paper's)
optimizers, so that recipes, the runner and `strategy.scope()` decide when
optimizers are created. A builder names its paper's arguments and passes
the rest on (the GAN builders forward every network option to
`keras_ssl.architectures.gan_networks`).
"""

import difflib
import importlib

_BUILDERS = {}

# Every built-in method, registered by the module of the same name in
# `keras_ssl.methods` when that module is first imported.
BUILTIN_METHODS = (
    "bigan",
    "cgan",
    "colorization",
    "colorization_proxy",
    "context_encoder",
    "context_prediction",
    "cyclegan",
    "deeppermnet",
    "exemplar",
    "gan",
    "instance_discrimination",
    "jigsaw",
    "multitask",
    "pix2pix",
    "rotation_auxiliary",
    "rotation_decoupling",
    "rotnet",
    "s3gan",
    "split_brain",
    "ssgan",
    "transitive_invariance",
)


def register_method(name):
    """Decorator that registers a method factory under `name`."""

    def decorator(builder):
        if name in _BUILDERS and _BUILDERS[name] is not builder:
            raise ValueError(f"A method named {name!r} is already registered.")
        _BUILDERS[name] = builder
        return builder

    return decorator


def list_methods():
    """Names of all registered methods (built-in or not), sorted."""
    return sorted(set(_BUILDERS) | set(BUILTIN_METHODS))


def get_builder(name):
    """The factory registered under `name`; a clear error lists close names."""
    if name not in _BUILDERS and name in BUILTIN_METHODS:
        importlib.import_module(f"keras_ssl.methods.{name}")
    if name not in _BUILDERS:
        close = difflib.get_close_matches(str(name), list_methods(), n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ValueError(
            f"Unknown method {name!r}.{hint} Available: {', '.join(list_methods())}"
        )
    return _BUILDERS[name]


def build_method(name, **config):
    """Build the method `name` with the keyword arguments of its factory."""
    return get_builder(name)(**config)
