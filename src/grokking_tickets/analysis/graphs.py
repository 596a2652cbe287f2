"""Graph metrics of masks and weights (v3 App. J), read from a network's matrices.

v3 names the metrics but not the graph; the choices made here (docs/experiments.md: structure over training):

- **One layer** is the bipartite graph of one matrix W [out, in]: its ``in`` and ``out`` units
  are the nodes, each kept weight an edge, |w| its weight where a metric is weighted. Its
  adjacency A = [[0, B], [Bᵀ, 0]] (B: the [out, in] biadjacency) has eigenvalues ±σᵢ(B) and
  zeros, so every spectral quantity below is read off B's singular values, which is exact and far
  cheaper than A's eigendecomposition.
  - spectral gap: λ0 − λ1 of the unweighted A = σ1(B) − σ2(B), B the 0/1 mask;
  - weighted spectral gap: the same for B = |W| ⊙ mask;
  - Ramanujan gap (Hoang et al. 2023): bound(d_avg) − μ̂, μ̂ the largest |eigenvalue| other than
    the trivial pair ±λ0 (the third-largest in absolute value: σ2(B)), d_avg = 2|E| / (nodes
    with an edge). The bound is ``2√(d_avg − 1)`` (Hoang et al.'s Ramanujan bound with the
    average degree for d) by default; :data:`RAMANUJAN_BOUNDS` has the others.
- **The whole network** is the layered graph of its matrices chained in forward order (each
  matrix's ``in`` units are the previous one's ``out`` units), undirected and unweighted; units
  with no kept weight are not in it (they are not part of the subnetwork).
  - average path length: the mean hop distance over ordered pairs of distinct nodes that are
    connected (a pruned graph may fall apart; ``connected_pairs`` says which share of pairs the
    mean covers);
  - clustering coefficient: a layered graph has no triangles (it is bipartite: even layers
    against odd), so the triangle coefficient is 0 for every mask. We use the bipartite
    clustering of Latapy et al. 2008 (NetworkX ``bipartite.average_clustering``, mode "dot"):
    per node v, the mean over its second neighbours u of |N(u) ∩ N(v)| / |N(u) ∪ N(v)|.

Both whole-graph metrics are computed in matrix form (SciPy's breadth-first all-pairs shortest
paths; the overlaps as one sparse product) because NetworkX's pure-Python versions take tens of
seconds on the MLP's 1,182 nodes and ~46,000 edges; the tests hold both to NetworkX on small graphs.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import networkx as nx
import numpy as np
from scipy import linalg, sparse
from scipy.sparse import csgraph

from ..errors import UserError

# The Ramanujan bound of a layer, from its average degree d. A registry: where v3 and its
# sources differ, each reading is one line here (docs/experiments.md: structure over training).
RAMANUJAN_BOUNDS: dict[str, Callable[[float], float]] = {
    "2sqrt(d-1)": lambda d: 2 * math.sqrt(max(d - 1, 0.0)),  # Hoang et al. 2023 (Ramanujan graphs), d = d_avg
    "sqrt(2d-1)": lambda d: math.sqrt(max(2 * d - 1, 0.0)),  # the form the issue transcribes from v3
}
DEFAULT_BOUND = "2sqrt(d-1)"
LAYER_METRICS = ("spectral_gap", "weighted_spectral_gap", "ramanujan_gap", "avg_degree")
GRAPH_METRICS = ("avg_path_length", "clustering", "connected_pairs", "nodes", "edges")


def _check(mask: np.ndarray, weights: np.ndarray | None = None) -> None:
    if mask.ndim != 2:
        raise UserError(f"a layer's mask must be a matrix [out, in]; got shape {tuple(mask.shape)}")
    if mask.dtype != bool:
        raise UserError(f"a mask must be boolean (kept = True); got dtype {mask.dtype}")
    if weights is not None and weights.shape != mask.shape:
        raise UserError(f"weights {tuple(weights.shape)} and mask {tuple(mask.shape)} differ in shape")


def _top2(B: np.ndarray) -> tuple[float, float]:
    """The two largest singular values of B (σ2 = 0 for a matrix with one row or column): the
    square roots of the two largest eigenvalues of the smaller Gram matrix (SciPy's eigvalsh on
    just those two; on this CPU ~100x faster than a full SVD, and exact to rounding for the top
    of the spectrum, which is all these metrics read)."""
    B = B.astype(np.float64)
    G = B.T @ B if B.shape[0] >= B.shape[1] else B @ B.T  # [k, k], k = min(out, in)
    k = G.shape[0]
    if k == 0:
        return 0.0, 0.0
    top = np.sqrt(np.clip(linalg.eigvalsh(G, subset_by_index=[max(k - 2, 0), k - 1]), 0.0, None))[::-1]
    return float(top[0]), float(top[1]) if k > 1 else 0.0


def layer_metrics(mask: np.ndarray, weights: np.ndarray | None = None, bound: str = DEFAULT_BOUND) -> dict[str, float]:
    """The per-layer metrics of one matrix: mask [out, in] bool, weights [out, in] (for the
    weighted gap; None leaves it NaN)."""
    _check(mask, weights)
    if bound not in RAMANUJAN_BOUNDS:
        raise UserError(f"unknown Ramanujan bound {bound!r}; valid: {', '.join(RAMANUJAN_BOUNDS)}")
    edges = int(mask.sum())
    nodes = int(mask.any(0).sum() + mask.any(1).sum())  # units with at least one kept weight
    d_avg = 2 * edges / nodes if nodes else 0.0
    s1, s2 = _top2(mask)
    out = {
        "spectral_gap": s1 - s2,
        "ramanujan_gap": RAMANUJAN_BOUNDS[bound](d_avg) - s2,
        "avg_degree": d_avg,
        "weighted_spectral_gap": math.nan,
    }
    if weights is not None:
        w1, w2 = _top2(np.abs(weights) * mask)
        out["weighted_spectral_gap"] = w1 - w2
    return out


def layered_adjacency(masks: Sequence[np.ndarray]) -> sparse.csr_array:
    """The symmetric 0/1 adjacency [n, n] of the layered graph of ``masks`` (each [out, in], in
    forward order), units with no kept weight dropped."""
    if not masks:
        raise UserError("a layered graph needs at least one matrix")
    for m in masks:
        _check(m)
    for i, (a, b) in enumerate(itertools.pairwise(masks)):
        if b.shape[1] != a.shape[0]:
            raise UserError(
                f"matrices {i} and {i + 1} do not chain: {tuple(a.shape)} then {tuple(b.shape)} "
                "(each matrix's inputs must be the previous one's outputs)"
            )
    sizes = [masks[0].shape[1]] + [m.shape[0] for m in masks]  # units per layer
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    blocks = []
    for i, m in enumerate(masks):
        r, c = np.nonzero(m)  # edge out-unit r of layer i+1 -- in-unit c of layer i
        blocks.append((r + offsets[i + 1], c + offsets[i]))
    rows = np.concatenate([b[0] for b in blocks] + [b[1] for b in blocks])
    cols = np.concatenate([b[1] for b in blocks] + [b[0] for b in blocks])
    n = int(offsets[-1])
    A = sparse.csr_array((np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(n, n))
    keep = np.flatnonzero(A.sum(axis=1) > 0)
    return A[keep][:, keep]


def average_path_length(A: sparse.csr_array) -> tuple[float, float]:
    """(mean hop distance over connected ordered pairs of distinct nodes, share of ordered
    pairs that are connected); NaN and 0 for a graph with no connected pair."""
    n = A.shape[0]
    if n < 2:
        return math.nan, 0.0
    D = csgraph.shortest_path(A, method="D", directed=False, unweighted=True)  # [n, n], inf if unreachable
    off = ~np.eye(n, dtype=bool)
    finite = np.isfinite(D) & off
    pairs = int(finite.sum())
    return (float(D[finite].mean()) if pairs else math.nan), pairs / (n * (n - 1))


def bipartite_clustering(A: sparse.csr_array) -> float:
    """Latapy et al.'s bipartite clustering (mode "dot") averaged over all nodes, as NetworkX's
    ``bipartite.average_clustering`` computes it: a node without second neighbours counts 0."""
    n = A.shape[0]
    if n == 0:
        return math.nan
    common = (A @ A).toarray()  # [n, n] number of shared neighbours
    deg = np.diag(common).copy()  # A is 0/1 and symmetric: (A²)_vv = deg v
    np.fill_diagonal(common, 0)
    union = deg[:, None] + deg[None, :] - common
    second = common > 0  # u is a second neighbour of v exactly when they share a neighbour
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(second, common / union, 0.0)
    count = second.sum(1)
    cc = np.divide(c.sum(1), count, out=np.zeros(n), where=count > 0)
    return float(cc.mean())


def graph_metrics(masks: Sequence[np.ndarray]) -> dict[str, float]:
    """The whole-network metrics of the layered graph of ``masks`` (forward order)."""
    A = layered_adjacency(masks)
    apl, connected = average_path_length(A)
    return {
        "avg_path_length": apl,
        "clustering": bipartite_clustering(A),
        "connected_pairs": connected,
        "nodes": int(A.shape[0]),
        "edges": int(A.nnz // 2),
    }


def to_networkx(A: sparse.csr_array) -> nx.Graph:
    """The layered graph as a NetworkX graph (nodes 0..n-1), for inspection and the tests."""
    return nx.from_scipy_sparse_array(A)


def network_metrics(
    masks: dict[str, np.ndarray],
    weights: dict[str, np.ndarray] | None,
    order: Sequence[str],
    bound: str = DEFAULT_BOUND,
) -> dict[str, float]:
    """Every metric of one network: each layer's (``NAME.metric``), their mean over layers
    (``metric``), and the layered graph's. ``order``: the matrices in forward order."""
    missing = [n for n in order if n not in masks]
    if missing:
        raise UserError(f"the mask has no matrix {missing[0]!r}; it has {', '.join(masks)}")
    out: dict[str, float] = {}
    per_layer = {n: layer_metrics(masks[n], None if weights is None else weights[n], bound) for n in order}
    for n, m in per_layer.items():
        out.update({f"{n}.{k}": v for k, v in m.items()})
    for k in LAYER_METRICS:
        out[k] = float(np.mean([m[k] for m in per_layer.values()]))
    out.update(graph_metrics([masks[n] for n in order]))
    return out
