"""Hard permutations from soft assignment matrices (inference only)."""

import numpy as np
from scipy.optimize import linear_sum_assignment


def hungarian_match(matrix, return_indices=False):
    """The permutation matrix that maximises the total of `matrix`'s entries.

    Solves the linear assignment problem with the Hungarian method
    (`scipy.optimize.linear_sum_assignment`, maximising), for example to turn
    the doubly-stochastic output of `SinkhornNormalization` into a hard
    permutation at inference (DeepPermNet, Gumbel-Sinkhorn). NumPy in, NumPy
    out: this runs on the host, outside the graph, and has no gradient.

    Args:
        matrix: (N, N) or (B, N, N) scores (a NumPy array or a tensor).
        return_indices: also return the assignment as indices.

    Returns:
        float32 permutation matrices with the shape of `matrix` (one 1 per row
        and column). With `return_indices=True`, `(permutations, columns)`
        where `columns` is int64 (N,) or (B, N) and row `i` is assigned to
        column `columns[..., i]`, so `permutations[..., i, columns[..., i]]`
        is 1.

    Example:

    >>> import numpy as np
    >>> hungarian_match(np.array([[0.1, 0.9], [0.8, 0.2]]))
    array([[0., 1.],
           [1., 0.]], dtype=float32)
    """
    if hasattr(matrix, "numpy"):
        matrix = matrix.numpy()
    values = np.asarray(matrix)
    if values.ndim not in (2, 3) or values.shape[-1] != values.shape[-2]:
        raise ValueError(
            "hungarian_match expects a square (N, N) or (B, N, N) matrix. "
            f"Received: matrix of shape {values.shape}"
        )
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(
        values.dtype, np.complexfloating
    ):
        raise TypeError(
            "hungarian_match expects a real-valued matrix. "
            f"Received: matrix of dtype {values.dtype}"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError(
            "hungarian_match expects finite values. Received: a matrix with "
            f"{np.size(values) - np.count_nonzero(np.isfinite(values))} "
            "NaN or infinite entries"
        )
    batch = values.reshape((-1,) + values.shape[-2:])
    n = values.shape[-1]
    permutations = np.zeros(batch.shape, dtype="float32")
    columns = np.zeros(batch.shape[:2], dtype="int64")
    for b, scores in enumerate(batch):
        rows, cols = linear_sum_assignment(scores, maximize=True)
        columns[b, rows] = cols
        permutations[b, rows, cols] = 1.0
    permutations = permutations.reshape(values.shape)
    columns = columns.reshape(values.shape[:-2] + (n,))
    if return_indices:
        return permutations, columns
    return permutations
