"""Argument checks at public boundaries, with errors that name the culprit.

Every check raises `ValueError` (or `TypeError` for a wrong type) whose
message names the argument, what was expected and what was received, e.g.
`width must be an int >= 1. Received: width=0`. `bool` is never accepted as
a number, though Python makes it an `int`.

>>> check_int(3, "width")
3
>>> check_int(True, "width")
Traceback (most recent call last):
...
ValueError: width must be an int >= 1. Received: width=True
"""

import numbers


def _where(context):
    return f" in {context}" if context else ""


def check_int(value, name, minimum=1, maximum=None, allow_none=False, context=None):
    """`value` as an int in `[minimum, maximum]` (None allowed if asked)."""
    if value is None and allow_none:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
    ):
        if maximum is None:
            expected = f"an int >= {minimum}" if minimum is not None else "an int"
        else:
            expected = f"an int in [{minimum}, {maximum}]"
        if allow_none:
            expected += " or None"
        raise ValueError(
            f"{name} must be {expected}{_where(context)}. Received: {name}={value!r}"
        )
    return int(value)


def check_number(
    value,
    name,
    minimum=None,
    maximum=None,
    exclusive_minimum=False,
    allow_none=False,
    context=None,
):
    """`value` as a float in the given range (None allowed if asked)."""
    if value is None and allow_none:
        return None
    bad = isinstance(value, bool) or not isinstance(value, numbers.Real)
    if not bad:
        value = float(value)
        if minimum is not None:
            bad = value <= minimum if exclusive_minimum else value < minimum
        if maximum is not None:
            bad = bad or value > maximum
    if bad:
        if minimum is not None and maximum is not None:
            low = "(" if exclusive_minimum else "["
            expected = f"a number in {low}{minimum}, {maximum}]"
        elif minimum is not None:
            expected = f"a number {'>' if exclusive_minimum else '>='} {minimum}"
        elif maximum is not None:
            expected = f"a number <= {maximum}"
        else:
            expected = "a number"
        if allow_none:
            expected += " or None"
        raise ValueError(
            f"{name} must be {expected}{_where(context)}. Received: {name}={value!r}"
        )
    return value


def check_weight(value, name, context=None):
    """A non-negative loss weight, as a float."""
    return check_number(value, name, minimum=0, context=context)


def check_bool(value, name, context=None):
    """A real `bool` (not 0/1, not a string)."""
    if not isinstance(value, bool):
        raise TypeError(
            f"{name} must be True or False{_where(context)}. Received: {name}={value!r}"
        )
    return value


def check_choice(value, name, choices, context=None):
    """`value` if it is one of `choices`."""
    if value not in choices:
        raise ValueError(
            f"{name} must be one of {tuple(choices)}{_where(context)}. "
            f"Received: {name}={value!r}"
        )
    return value
