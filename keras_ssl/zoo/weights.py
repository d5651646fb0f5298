"""Where preset weights come from, downloaded once and checked by hash."""

import hashlib
import os
import urllib.parse

import keras

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")


def cache_dir():
    """Folder of downloaded weights.

    `$KERAS_SSL_HOME` when set, else `$KERAS_HOME/keras_ssl` (Keras' own
    `~/.keras` when `KERAS_HOME` is unset). Read at call time so that a
    process can redirect it.
    """
    if os.environ.get("KERAS_SSL_HOME"):
        return os.path.expanduser(os.environ["KERAS_SSL_HOME"])
    keras_home = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    return os.path.join(os.path.expanduser(keras_home), "keras_ssl")


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_url(source):
    return isinstance(source, str) and urllib.parse.urlsplit(source).scheme in (
        "http",
        "https",
    )


def download(url, sha256=None, fname=None):
    """Download `url` into `cache_dir()` once; return the local path.

    With `sha256`, a cached file is reused only if it matches, and a
    download that does not match is deleted before the error is raised, so
    nothing unverified stays in the cache.

    Args:
        url: http(s) address of the file.
        sha256: expected hex digest of the file, or None to trust the cache.
        fname: name in the cache; by default the last part of the URL path.
    """
    if not is_url(url):
        raise ValueError(f"url must be an http(s) address. Received: url={url!r}")
    if sha256 is not None and (
        not isinstance(sha256, str)
        or len(sha256) != 64
        or any(c not in "0123456789abcdef" for c in sha256.lower())
    ):
        raise ValueError(
            f"sha256 must be a 64-character hex digest. Received: sha256={sha256!r}"
        )
    fname = fname or os.path.basename(urllib.parse.urlsplit(url).path)
    if not fname:
        raise ValueError(f"Cannot name the file of url={url!r}; pass fname.")
    directory = cache_dir()
    os.makedirs(directory, exist_ok=True)
    target = os.path.join(directory, fname)
    try:
        return keras.utils.get_file(
            fname=fname,
            origin=url,
            file_hash=sha256,
            hash_algorithm="sha256",
            cache_dir=directory,
            cache_subdir="",
        )
    except ValueError as error:
        if os.path.exists(target) and sha256 is not None:
            os.remove(target)
            raise ValueError(
                f"The file downloaded from {url} does not have the expected "
                f"sha256 {sha256}; it was deleted from the cache. ({error})"
            ) from error
        raise


def resolve(source, sha256=None, name=None):
    """Local path of a weights file given as a dict, path or URL.

    Args:
        source: a preset's weights dict (`file`, `path` or `url`, and
            `sha256`), a local path, or an http(s) URL.
        sha256: expected digest for a path or URL source (a dict carries its
            own).
        name: what the weights belong to, for error messages.
    """
    label = f" for {name!r}" if name else ""
    if isinstance(source, dict):
        sha256 = source.get("sha256", sha256)
        if "url" in source:
            return download(source["url"], sha256, fname=source.get("fname"))
        if "file" in source:
            path = os.path.join(WEIGHTS_DIR, source["file"])
        else:
            path = os.path.expanduser(source["path"])
    elif is_url(source):
        return download(source, sha256)
    elif isinstance(source, str | os.PathLike):
        path = os.path.expanduser(os.fspath(source))
    else:
        raise TypeError(
            'weights must be "default", None, a file path or an http(s) URL. '
            f"Received: weights={source!r}"
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Weights file{label} not found: {path}")
    if sha256 is not None:
        actual = sha256_of(path)
        if actual != sha256:
            raise ValueError(
                f"Weights file{label} {path} has sha256 {actual}, expected {sha256}."
            )
    return path
