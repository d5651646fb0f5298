"""One module per paper; each registers a `build_<method>` factory by name."""

from keras_ssl.methods.registry import (
    build_method,
    get_builder,
    list_methods,
    register_method,
)

__all__ = ["build_method", "get_builder", "list_methods", "register_method"]
