"""The authors' released checkpoints: fetched once, converted, cached.

A preset with an `original` entry (see `Preset`) names a file the authors
published (a Mimicry `netG.pth`, a compare_gan TF-Hub module, ...) and the
`keras_ssl.convert` format that reads it. `zoo.load` then:

1. takes the file from `weights=` when the user passes one, else downloads
   `original["url"]` once into `cache_dir()` (hash-checked when the preset
   records a `sha256`; otherwise the digest of the first download is
   recorded beside it and every later use is checked against it);
2. converts it into the preset's sub-model (`original["network"]`) by exact
   variable names, which needs the optional converter dependency only this
   once;
3. caches the converted Keras weights as
   `cache_dir()/converted/<preset>-<sha256 of the original[:16]>.weights.h5`,
   written atomically with their own sha256 beside them, and loads from there
   on every later call.

Offline, or without the optional dependency, the error says which file to
get, from where, and how to pass it.
"""

import hashlib
import json
import os
import tempfile

from keras_ssl.zoo import weights as weights_lib

_KERAS_WEIGHT_SUFFIXES = (".weights.h5", ".keras")


def is_original_file(path):
    """Whether a user's `weights=` path is an original file to convert."""
    return not os.fspath(path).endswith(_KERAS_WEIGHT_SUFFIXES)


def network_of(model, preset):
    """The sub-model of `model` that the preset's original file fills."""
    name = preset.original["network"]
    if name in (None, "model", "self"):
        return model
    network = getattr(model, name, None)
    if network is None:
        raise ValueError(
            f"Preset {preset.name!r} converts its original into .{name}, which "
            f"{type(model).__name__} does not have."
        )
    return network


def _how_to_get(preset):
    original = preset.original
    where = original.get("url") or original.get("page") or "the authors' page"
    page = original.get("page")
    lines = [
        f"Preset {preset.name!r} loads the authors' released weights "
        f"{original['filename']!r} ({original['format']}).",
        f"Get it from {where}"
        + (f" (see {page})" if page and page != where else "")
        + ", then pass its path: "
        f'keras_ssl.zoo.load("{preset.name}", weights="path/to/'
        f'{original["filename"]}").',
    ]
    return " ".join(lines)


def _recorded_digest_path(path):
    return path + ".sha256"


def fetch(preset):
    """Local path of the preset's original file, downloading it once."""
    original = preset.original
    url = original.get("url")
    if not url:
        raise FileNotFoundError(
            _how_to_get(preset) + " It has no direct download link."
        )
    try:
        path = weights_lib.download(
            url, original.get("sha256"), fname=original["filename"]
        )
    except Exception as error:
        raise OSError(
            f"Could not download {url} ({type(error).__name__}: {error}). "
            + _how_to_get(preset)
        ) from error
    return path


def sha256_of_source(path):
    """sha256 of a file, or of a folder (e.g. an extracted TF-Hub module).

    A folder's digest covers every file's relative path and content, in
    sorted order, so it does not depend on how the folder was written.
    """
    if not os.path.isdir(path):
        return weights_lib.sha256_of(path)
    digest = hashlib.sha256()
    for directory, folders, files in os.walk(path):
        folders.sort()
        for name in sorted(files):
            full = os.path.join(directory, name)
            digest.update(os.path.relpath(full, path).encode("utf-8") + b"\0")
            digest.update(weights_lib.sha256_of(full).encode("ascii"))
    return digest.hexdigest()


def verify(path, preset):
    """sha256 of the original file, checked against what is known of it."""
    digest = sha256_of_source(path)
    expected = preset.original.get("sha256")
    if expected is None:
        record = _recorded_digest_path(path)
        if os.path.exists(record):
            with open(record, encoding="utf-8") as file:
                expected = file.read().strip()
    if expected is not None and digest != expected:
        raise ValueError(
            f"The original weights file {path} of preset {preset.name!r} has "
            f"sha256 {digest}, expected {expected}."
        )
    return digest


def converted_path(preset, original_digest):
    return os.path.join(
        weights_lib.cache_dir(),
        "converted",
        f"{preset.name}-{original_digest[:16]}.weights.h5",
    )


def load_original(model, preset, source=None):
    """Fill `model`'s preset sub-model from the original file; return model.

    Args:
        model: the built method model of `preset`.
        preset: a `Preset` with an `original` entry.
        source: a local path of the original file, or None to fetch it.
    """
    from keras_ssl import convert

    network = network_of(model, preset)
    path = os.path.expanduser(os.fspath(source)) if source else None
    if path is not None and not os.path.exists(path):
        raise FileNotFoundError(
            f"Original weights not found: {path}. " + _how_to_get(preset)
        )
    downloaded = path is None
    if downloaded:
        path = fetch(preset)
    digest = verify(path, preset)
    if downloaded and preset.original.get("sha256") is None:
        _write_text(_recorded_digest_path(path.rstrip(os.sep)), digest)
    target = converted_path(preset, digest)
    if os.path.exists(target) and _converted_is_intact(target):
        network.load_weights(target)
        return model
    try:
        convert.convert(
            preset.original["format"],
            path,
            network,
            **preset.original.get("options", {}),
        )
    except ImportError as error:
        raise ImportError(
            f"{error}. It is needed once, to convert {path} for preset "
            f"{preset.name!r}; the converted weights are cached afterwards."
        ) from error
    _save_weights_atomically(network, target)
    return model


def _converted_is_intact(target):
    record = _recorded_digest_path(target)
    if not os.path.exists(record):
        return False
    with open(record, encoding="utf-8") as file:
        return file.read().strip() == weights_lib.sha256_of(target)


def _save_weights_atomically(network, target):
    directory = os.path.dirname(target)
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(suffix=".weights.h5", dir=directory)
    os.close(handle)
    try:
        network.save_weights(temporary)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    _write_text(_recorded_digest_path(target), weights_lib.sha256_of(target))


def _write_text(path, text):
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)


def describe(preset):
    """The preset's original as JSON-able facts, for `info()` and docs."""
    return json.loads(json.dumps(preset.original))
