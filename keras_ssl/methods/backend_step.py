"""One train step for every backend: gradients and updates, per backend.

A method writes its train step once, statefully, as on TensorFlow: it reads
variables, calls its networks (which update batch-norm statistics,
spectral-norm vectors and seed generators by assignment), asks for
gradients with `value_and_gradients` (or `values_and_gradients`, for two
players' losses of one forward pass) and updates with `apply_gradients`.
Only those functions (and `input_gradients`, for gradient penalties)
differ by backend:

- TensorFlow: a `tf.GradientTape` and `optimizer.apply_gradients`, exactly
  what a hand-written TF step does;
- JAX: `jax.value_and_grad` over the differentiated variables' values, and
  `optimizer.stateless_apply`, inside `keras.StatelessScope`s.

On JAX, Keras' trainer calls `train_step(state, data)` with the model's
state as arrays and expects `(logs, new_state)`. The decorator
`stateless_on_jax` turns a stateful `train_step(self, data)` (or
`test_step`) into that: it maps the state's arrays onto the model's
variables in a `keras.StatelessScope`, runs the step, and collects every
variable's value at the end (weights, optimizer slots and step counters,
batch-norm statistics, spectral-norm vectors, EMA weights, seed-generator
states and metric totals), so every assignment the step makes comes back in
the state. `jax` is imported only on the JAX backend.

Example:

>>> import keras, numpy as np
>>> layer = keras.layers.Dense(1)
>>> layer.build((None, 2))
>>> x = np.ones((4, 2), "float32")
>>> def loss():
...     value = keras.ops.mean(layer(x) ** 2)
...     return value, {"loss": value}
>>> value, logs, grads = value_and_gradients(loss, layer.trainable_variables)
>>> [tuple(g.shape) for g in grads]
[(2, 1), (1,)]
"""

import functools

import keras

# Not exported by Keras: the current stateless scope (Keras' own trainers
# and `LossScaleOptimizer` read it the same way).
from keras.src.backend.common.stateless_scope import (
    get_stateless_scope,
    in_stateless_scope,
)


def backend_name():
    return keras.backend.backend()


def _unsupported(what):
    return NotImplementedError(
        f"{what} is implemented for the TensorFlow and JAX backends. "
        f"Received: KERAS_BACKEND={backend_name()!r}"
    )


class _RecordingScope(keras.StatelessScope):
    """A stateless scope that starts from the enclosing scope's values and
    remembers which variables were assigned inside it."""

    def __init__(self, overrides):
        super().__init__()
        outer = get_stateless_scope()
        if outer is not None:
            self.state_mapping = dict(outer.state_mapping)
        for variable, value in overrides:
            self.state_mapping[id(variable)] = value
        self.assigned = {}

    def add_update(self, update):
        variable, _ = update
        self.assigned[id(variable)] = variable
        super().add_update(update)

    def updates(self, skip=()):
        skip = {id(v) for v in skip}
        return {
            key: self.state_mapping[key] for key in self.assigned if key not in skip
        }


def _assign_all(variables_by_id, values):
    """Write `values` (by variable id) to the enclosing scope or the variables."""
    outer = get_stateless_scope()
    for key, value in values.items():
        variable = variables_by_id[key]
        if outer is not None:
            outer.add_update((variable, value))
        else:
            variable.assign(value)


def _jax_gradient(function, arguments, variables=()):
    """`jax.value_and_grad` of `function(arguments) -> (value, aux)`.

    `variables` (if any) read the differentiated `arguments` (their values)
    inside `function`; every other variable `function` assigns gets its new
    value written back after the gradient.
    """
    import jax

    assigned = {}

    def wrapped(values):
        overrides = list(zip(variables, values)) if variables else []
        with _RecordingScope(overrides) as scope:
            value, aux = function(values)
        assigned.update(scope.assigned)
        return value, (aux, scope.updates(skip=variables))

    (value, (aux, updates)), gradients = jax.value_and_grad(wrapped, has_aux=True)(
        arguments
    )
    _assign_all(assigned, updates)
    return value, aux, gradients


def value_and_gradients(compute, variables):
    """`(value, aux, gradients)` of `compute() -> (value, aux)` w.r.t. `variables`.

    `compute` reads the variables (calls the networks) and returns a scalar
    to differentiate and any auxiliary outputs (losses to log, ...). The
    variables it assigns (batch-norm statistics, ...) are updated as if it
    ran eagerly. TensorFlow: one `tf.GradientTape`. JAX: `jax.value_and_grad`
    over the variables' values.
    """
    variables = list(variables)
    backend = backend_name()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            value, aux = compute()
        return value, aux, tape.gradient(value, variables)
    if backend == "jax":
        start = [variable.value for variable in variables]
        return _jax_gradient(lambda values: compute(), start, variables)
    raise _unsupported("value_and_gradients")


def values_and_gradients(compute, variable_groups):
    """Gradients of several losses of one forward pass, each w.r.t. its variables.

    `compute() -> (values, aux)` returns one scalar per group of
    `variable_groups`; the result is `(values, aux, gradients)` with
    `gradients[i]` the gradients of `values[i]` w.r.t. `variable_groups[i]`
    (simultaneous updates of two players from the same forward pass, as
    BiGAN's). TensorFlow: one `tf.GradientTape` per group. JAX: one
    `jax.vjp` pulled back once per group.

    Example:

    >>> import numpy as np
    >>> layer = keras.layers.Dense(1)
    >>> layer.build((None, 2))
    >>> x = np.ones((4, 2), "float32")
    >>> def losses():
    ...     mean = keras.ops.mean(layer(x))
    ...     return (mean, -mean), None
    >>> _, _, (first, second) = values_and_gradients(
    ...     losses, [[layer.kernel], [layer.bias]]
    ... )
    >>> float(first[0][0, 0]), float(second[0][0])
    (1.0, -1.0)
    """
    groups = [list(group) for group in variable_groups]
    backend = backend_name()
    if backend == "tensorflow":
        import contextlib

        import tensorflow as tf

        with contextlib.ExitStack() as stack:
            tapes = [stack.enter_context(tf.GradientTape()) for _ in groups]
            values, aux = compute()
        values = tuple(values)
        gradients = [
            tape.gradient(value, group)
            for tape, value, group in zip(tapes, values, groups, strict=True)
        ]
        return values, aux, gradients
    if backend == "jax":
        return _jax_values_and_gradients(compute, groups)
    raise _unsupported("values_and_gradients")


def _jax_values_and_gradients(compute, groups):
    import jax

    variables, index = [], {}
    for variable in (v for group in groups for v in group):
        if id(variable) not in index:
            index[id(variable)] = len(variables)
            variables.append(variable)
    assigned = {}

    def wrapped(values):
        with _RecordingScope(list(zip(variables, values))) as scope:
            outputs, aux = compute()
        assigned.update(scope.assigned)
        return tuple(outputs), (aux, scope.updates(skip=variables))

    outputs, pullback, (aux, updates) = jax.vjp(
        wrapped, [variable.value for variable in variables], has_aux=True
    )
    _assign_all(assigned, updates)
    gradients = []
    for k, group in enumerate(groups):
        cotangent = tuple(
            jax.numpy.ones_like(o) if j == k else jax.numpy.zeros_like(o)
            for j, o in enumerate(outputs)
        )
        (all_gradients,) = pullback(cotangent)
        gradients.append([all_gradients[index[id(v)]] for v in group])
    return outputs, aux, gradients


def input_gradients(function, inputs):
    """Gradient of the scalar `function(inputs)` w.r.t. the tensor `inputs`.

    Differentiable itself (a gradient penalty's gradient flows through it).
    """
    backend = backend_name()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(inputs)
            value = function(inputs)
        return tape.gradient(value, inputs)
    if backend == "jax":
        _, _, gradients = _jax_gradient(lambda x: (function(x), None), inputs)
        return gradients
    raise _unsupported("input_gradients")


def apply_gradients(optimizer, gradients, variables):
    """`optimizer.apply_gradients(zip(gradients, variables))` on any backend.

    On JAX inside a traced step it runs `optimizer.stateless_apply` (the form
    that also works for `LossScaleOptimizer`) on the current values and
    writes the new weights and optimizer variables back.
    """
    variables = list(variables)
    if backend_name() != "jax" or not in_stateless_scope():
        optimizer.apply_gradients(zip(gradients, variables))
        return
    by_id = {id(v): g for v, g in zip(variables, gradients)}
    # stateless_apply takes the variables the optimizer was built with, in
    # that order.
    trainable = list(optimizer._trainable_variables)
    new_trainable, new_optimizer = optimizer.stateless_apply(
        [v.value for v in optimizer.variables],
        [by_id.get(id(v)) for v in trainable],
        [v.value for v in trainable],
    )
    scope = get_stateless_scope()
    for variable, value in zip(trainable, new_trainable):
        scope.add_update((variable, value))
    for variable, value in zip(optimizer.variables, new_optimizer):
        scope.add_update((variable, value))


def _state_variables(model, size):
    """The model's variables in the order of Keras' JAX state tuples."""
    if size == 4:  # train: trainable, non-trainable, optimizer, metrics
        optimizer = model.optimizer.variables if model.optimizer else []
        return (
            model.trainable_variables,
            model.non_trainable_variables,
            optimizer,
            model.metrics_variables,
        )
    if size == 3:  # test: trainable, non-trainable, metrics
        return (
            model.trainable_variables,
            model.non_trainable_variables,
            model.metrics_variables,
        )
    raise ValueError(f"Unexpected JAX trainer state of {size} parts.")


def run_on_state(model, step, state, data):
    """Run the stateful `step(data)` on Keras' JAX state; `(logs, new_state)`."""
    groups = _state_variables(model, len(state))
    mapping = [
        (variable, value)
        for variables, values in zip(groups, state, strict=True)
        for variable, value in zip(variables, values, strict=True)
    ]
    with keras.StatelessScope(state_mapping=mapping) as scope:
        logs = step(data)
    new_state = tuple(
        [
            _current(scope, variable, value)
            for variable, value in zip(variables, values, strict=True)
        ]
        for variables, values in zip(groups, state, strict=True)
    )
    return logs, new_state


def _current(scope, variable, value):
    current = scope.get_current_value(variable)
    return value if current is None else current


def stateless_on_jax(step):
    """Decorate a stateful `train_step(self, data)` / `test_step(self, data)`.

    On TensorFlow (and other backends whose trainers call `step(data)`) the
    step runs as written. On JAX, `step(self, state, data)` runs it on the
    state (see the module docstring) and returns `(logs, new_state)`.
    """

    @functools.wraps(step)
    def wrapper(self, *args):
        if len(args) == 1:
            return step(self, args[0])
        state, data = args
        return run_on_state(self, functools.partial(step, self), state, data)

    return wrapper
