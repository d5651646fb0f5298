import pytest

from keras_ssl import methods
from keras_ssl.methods import registry


def test_builtin_list_names_every_registered_method():
    # Method modules import on first use, so the registry keeps the names of
    # the built-in ones; after importing them all, the two must agree.
    methods.import_all()
    registered = {name for name in registry._BUILDERS if not name.startswith("toy_")}
    assert registered == set(registry.BUILTIN_METHODS)
    assert set(methods.list_methods()) >= registered


def test_every_export_resolves_to_its_module():
    for name, module in methods._EXPORTS.items():
        value = getattr(methods, name)
        assert value.__module__ == f"keras_ssl.methods.{module}", name
    assert set(methods.__all__) == set(methods._EXPORTS) | {
        "build_method",
        "get_builder",
        "list_methods",
        "register_method",
    }


def test_unknown_method_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown method 'rotnett'.*Did you mean"):
        methods.build_method("rotnett")
    with pytest.raises(AttributeError, match="has no attribute 'Rotnet'"):
        methods.Rotnet  # noqa: B018
