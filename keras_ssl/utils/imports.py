"""Optional imports: TensorFlow only where this process already uses it."""

import importlib
import sys


def loaded_tensorflow():
    """The `tensorflow` module if this process has imported it, else None.

    Code shared by every backend asks this instead of importing TensorFlow:
    a value cannot be a `tf.Tensor` or `tf.data.Dataset`, and no
    `tf.distribute` strategy can be active, in a process that never imported
    TensorFlow. A JAX-only install then never needs it.

    Example:

    >>> loaded_tensorflow() is None or loaded_tensorflow().__name__ == "tensorflow"
    True
    """
    return sys.modules.get("tensorflow")


def lazy_exports(package, exports):
    """`__getattr__` and `__dir__` for a package that imports on first use.

    Args:
        package: the package's `__name__`.
        exports: `{name: submodule}`; `name` is read from
            `package.submodule`, or is that submodule itself when the two
            are equal.

    A package that imported all its submodules up front would import
    TensorFlow for every user; with this, `from keras_ssl.training import
    NaNGuard` imports only what `NaNGuard` needs.

    Example (in a package's `__init__.py`):

        __getattr__, __dir__ = lazy_exports(__name__, {"NaNGuard": "callbacks"})
    """

    def __getattr__(name):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{exports[name]}")
        value = module if exports[name] == name else getattr(module, name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
