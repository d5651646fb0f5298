"""Exact, by-name loading of the originals' variables into our networks.

A converter maps every variable of one of our networks to the name the
original code gives it, with the transform that turns the original's layout
into ours (e.g. a PyTorch conv kernel [out, in, kh, kw] into Keras'
[kh, kw, in, out]). `assign_by_name` then loads a whole checkpoint or
nothing: any original name left unused, any of ours left unassigned and any
shape mismatch are collected and raised together in one `ConversionError`.

Source formats register themselves: each module of `keras_ssl.convert`
defines a `FORMATS` dict, `{format_name: convert_function}`, where
`convert_function(source, network, **options)` loads the file (or mapping of
arrays) `source` into the Keras `network` and returns it. Modules are found
by name, so adding a format never edits a shared file, and their optional
dependencies (torch) are imported only when a format is used.
"""

import importlib
import pkgutil

import numpy as np


class ConversionError(ValueError):
    """A checkpoint does not fit a network; the message lists every problem."""


def _identity(array):
    return array


def assign_by_name(mapping, values, source="checkpoint", ignore=()):
    """Assign `values[name]` to each variable of `mapping`, all or nothing.

    Args:
        mapping: dict `{original_name: (variable, transform)}` or
            `{original_name: variable}`; `transform` turns the original
            array into the variable's layout (default: identity).
        values: dict `{original_name: array}`, e.g. a state dict as numpy.
        source: what `values` came from (a path), for the error message.
        ignore: original names, or callables `name -> bool`, that are
            allowed to stay unused (e.g. `num_batches_tracked`).

    Raises:
        ConversionError: listing every missing name, every unused name and
            every shape mismatch. Nothing is assigned in that case.
    """
    missing, mismatched, staged = [], [], []
    for name, target in mapping.items():
        variable, transform = (
            target if isinstance(target, tuple) else (target, _identity)
        )
        if name not in values:
            missing.append(name)
            continue
        array = np.asarray(transform(np.asarray(values[name])))
        expected = tuple(variable.shape)
        if tuple(array.shape) != expected:
            mismatched.append(
                f"{name}: checkpoint {tuple(np.shape(values[name]))} -> "
                f"{tuple(array.shape)} after transform, network {expected} "
                f"({variable.path})"
            )
            continue
        staged.append((variable, array))

    def ignored(name):
        return any(rule(name) if callable(rule) else rule == name for rule in ignore)

    unused = [name for name in values if name not in mapping and not ignored(name)]
    if missing or unused or mismatched:
        lines = [f"The variables in {source} do not fit the network exactly."]
        for title, names in (
            ("missing from the checkpoint", missing),
            ("in the checkpoint but unused by the network", unused),
            ("with mismatched shapes", mismatched),
        ):
            if names:
                lines.append(f"{len(names)} {title}: " + ", ".join(names))
        raise ConversionError("\n".join(lines))
    for variable, array in staged:
        variable.assign(array.astype(variable.dtype))
    return len(staged)


def list_formats():
    """Names of every source format a converter exists for, sorted."""
    return sorted(_formats())


def get_converter(format):
    """The convert function of `format` (see `list_formats()`)."""
    formats = _formats()
    if format not in formats:
        raise ValueError(
            f"Unknown weights format {format!r}. Known formats: "
            f"{', '.join(sorted(formats))}"
        )
    return formats[format]


def convert(format, source, network, **options):
    """Load the original checkpoint `source` of `format` into `network`.

    Args:
        format: a name from `list_formats()`, e.g. `"mimicry_pth"`.
        source: the file (or folder) the original code wrote.
        network: our Keras network of the same architecture, built.
        **options: format-specific options.

    Returns:
        `network`, with every variable loaded.
    """
    return get_converter(format)(source, network, **options)


def _formats():
    import keras_ssl.convert as package

    formats = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_") or info.name in ("core", "readers"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        formats.update(getattr(module, "FORMATS", {}))
    return formats
