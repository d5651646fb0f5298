"""Power-iteration estimate of a matrix's largest singular value."""

from keras import ops


def l2_normalize(x, epsilon=1e-12):
    return x / ops.sqrt(ops.maximum(ops.sum(ops.square(x)), epsilon))


def spectral_sigma(matrix, u, power_iterations):
    """Estimate sigma(matrix) from the right singular vector guess `u`.

    Args:
        matrix: (R, C) weights.
        u: (1, C) current estimate of the top right singular vector.
        power_iterations: rounds of power iteration; 0 evaluates sigma with
            `u` as it is (inference).

    Returns:
        `(sigma, u)`: a scalar and the updated (1, C) vector. `u` and `v` are
        constants for the gradient, so `sigma = v W u^T` is linear in W and
        the gradient flows through it (Miyato et al. 2018, Algorithm 1).
    """
    u = ops.stop_gradient(u)
    v = l2_normalize(ops.matmul(u, ops.transpose(matrix)))
    for i in range(power_iterations):
        if i > 0:
            v = l2_normalize(ops.matmul(u, ops.transpose(matrix)))
        u = l2_normalize(ops.matmul(v, matrix))
    u = ops.stop_gradient(u)
    v = ops.stop_gradient(v)
    sigma = ops.sum(ops.matmul(v, matrix) * u)
    return sigma, u


SINGULAR_VECTORS = ("right", "left", "auto")


def check_singular_vector(value, layer_name):
    if value not in SINGULAR_VECTORS:
        raise ValueError(
            f"{layer_name} expects singular_vector to be one of "
            f"{SINGULAR_VECTORS}. Received: singular_vector={value!r}"
        )
    return value


def is_left(rows, columns, singular_vector):
    """Whether the persistent vector is the (rows, 1) "left" one."""
    if singular_vector == "auto":
        return rows <= columns
    return singular_vector == "left"


def u_shape(rows, columns, singular_vector):
    """Shape of the persistent vector for a (rows, columns) matrix.

    "right" keeps a (1, columns) vector (SN-GAN, PyTorch), "left" a (rows, 1)
    vector (compare_gan's default), "auto" the shorter of the two, "left" on
    a tie (compare_gan's `singular_value="auto"`).
    """
    return (rows, 1) if is_left(rows, columns, singular_vector) else (1, columns)


def spectral_sigma_any(matrix, u, power_iterations, left):
    """`spectral_sigma` for a stored vector of either layout (`left`: (rows, 1)).

    A (rows, 1) "left" vector is the right singular vector of `matrix^T`, so
    the same iteration on the transpose gives compare_gan's "left" update:
    v = l2n(W^T u), u = l2n(W v), sigma = u^T W v.
    """
    if left:
        sigma, updated = spectral_sigma(
            ops.transpose(matrix), ops.transpose(u), power_iterations
        )
        return sigma, ops.transpose(updated)
    return spectral_sigma(matrix, u, power_iterations)
