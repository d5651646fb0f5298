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
