"""Graph metrics on small hand-made masks with known answers, and the matrix forms held to NetworkX."""

import math

import networkx as nx
import numpy as np
import pytest
from scipy import linalg, sparse

from grokking_tickets.analysis.graphs import (
    RAMANUJAN_BOUNDS,
    average_path_length,
    bipartite_clustering,
    graph_metrics,
    layer_metrics,
    layered_adjacency,
    network_metrics,
    to_networkx,
)
from grokking_tickets.errors import UserError


def test_complete_bipartite_graph_spectrum():
    # K_{m,n}: adjacency eigenvalues ±√(mn) and zeros, so λ0 − λ1 = √(mn), μ̂ = 0, d_avg = 2mn/(m+n)
    m, n = 3, 5
    res = layer_metrics(np.ones((m, n), bool), np.full((m, n), -2.0))
    assert res["spectral_gap"] == pytest.approx(math.sqrt(m * n))
    assert res["weighted_spectral_gap"] == pytest.approx(2 * math.sqrt(m * n))  # |w| = 2 scales every eigenvalue
    d = 2 * m * n / (m + n)
    assert res["avg_degree"] == pytest.approx(d)
    assert res["ramanujan_gap"] == pytest.approx(2 * math.sqrt(d - 1))
    as_written = layer_metrics(np.ones((m, n), bool), bound="sqrt(2d-1)")
    assert as_written["ramanujan_gap"] == pytest.approx(math.sqrt(2 * d - 1))


def test_spectral_gap_agrees_with_the_adjacency_eigenvalues():
    rng = np.random.default_rng(1)
    mask = rng.random((7, 9)) < 0.4
    G = nx.bipartite.from_biadjacency_matrix(sparse.csr_array(mask.astype(int)))
    eig = np.sort(linalg.eigvalsh(nx.to_numpy_array(G)))[::-1]
    res = layer_metrics(mask)
    assert res["spectral_gap"] == pytest.approx(eig[0] - eig[1])
    # μ̂: the third-largest eigenvalue in absolute value (after the trivial pair ±λ0)
    mu = np.sort(np.abs(eig))[::-1][2]
    d = 2 * mask.sum() / (mask.any(0).sum() + mask.any(1).sum())
    assert res["ramanujan_gap"] == pytest.approx(RAMANUJAN_BOUNDS["2sqrt(d-1)"](d) - mu)


def test_two_disjoint_edges_have_no_spectral_gap():
    # a perfect matching of 2 edges: eigenvalues ±1, ±1, so λ0 = λ1
    assert layer_metrics(np.eye(2, dtype=bool))["spectral_gap"] == pytest.approx(0.0)


def test_path_graph_average_path_length():
    # a chain of 1x1 matrices is a path on k+1 nodes: mean distance (k+2)/3 over ordered pairs
    k = 5
    masks = [np.ones((1, 1), bool)] * k
    res = graph_metrics(masks)
    assert res["avg_path_length"] == pytest.approx((k + 2) / 3)
    assert res["avg_path_length"] == pytest.approx(nx.average_shortest_path_length(nx.path_graph(k + 1)))
    assert res["connected_pairs"] == 1.0 and res["nodes"] == k + 1 and res["edges"] == k
    # Latapy on a path: an end node shares its 1 neighbour with a node of 2 (1/2); inner nodes' second
    # neighbours share 1 of 3 (1/3), or 1 of 2 next to an end
    assert res["clustering"] == pytest.approx(nx.bipartite.average_clustering(nx.path_graph(k + 1)))


def test_star_clustering_is_one():
    # a star (one hub, 4 leaves): every leaf's second neighbours are the other leaves, each sharing its
    # only neighbour: overlap 1/1 = 1; the hub has no second neighbour (0); mean = 4/5
    res = graph_metrics([np.ones((1, 4), bool)])
    assert res["clustering"] == pytest.approx(4 / 5)
    assert nx.bipartite.average_clustering(nx.star_graph(4)) == pytest.approx(4 / 5)


def test_layered_metrics_match_networkx_on_a_random_graph():
    rng = np.random.default_rng(0)
    shapes = [(6, 4), (3, 6), (6, 3), (4, 6)]
    masks = [rng.random(s) < 0.5 for s in shapes]
    A = layered_adjacency(masks)
    G = to_networkx(A)
    assert nx.is_bipartite(G)
    assert bipartite_clustering(A) == pytest.approx(nx.bipartite.average_clustering(G))
    if nx.is_connected(G):
        assert average_path_length(A)[0] == pytest.approx(nx.average_shortest_path_length(G))
    else:  # the mean over connected pairs: each component's sum of distances over its pairs
        comps = [G.subgraph(c) for c in nx.connected_components(G)]
        tot = sum(sum(d for _, dd in nx.shortest_path_length(c) for d in dd.values()) for c in comps)
        pairs = sum(len(c) * (len(c) - 1) for c in comps)
        assert average_path_length(A)[0] == pytest.approx(tot / pairs)


def test_units_without_kept_weights_leave_the_graph_and_split_it():
    # two disconnected edges through a 2x2 identity, and a unit with no weight at all
    mask = np.array([[1, 0, 0], [0, 1, 0]], bool)
    res = graph_metrics([mask])
    assert res["nodes"] == 4 and res["edges"] == 2
    assert res["avg_path_length"] == 1.0
    assert res["connected_pairs"] == pytest.approx(4 / 12)


def test_network_metrics_mean_over_layers():
    masks = {"a": np.ones((2, 3), bool), "b": np.ones((4, 2), bool)}
    weights = {k: np.ones(v.shape) for k, v in masks.items()}
    res = network_metrics(masks, weights, ("a", "b"))
    assert res["spectral_gap"] == pytest.approx((math.sqrt(6) + math.sqrt(8)) / 2)
    assert res["a.spectral_gap"] == pytest.approx(math.sqrt(6))
    assert res["weighted_spectral_gap"] == pytest.approx(res["spectral_gap"])
    assert res["nodes"] == 3 + 2 + 4


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: layer_metrics(np.ones(3, bool)), "matrix"),
        (lambda: layer_metrics(np.ones((2, 2)), None), "boolean"),
        (lambda: layer_metrics(np.ones((2, 2), bool), np.ones((3, 2))), "differ in shape"),
        (lambda: layer_metrics(np.ones((2, 2), bool), bound="nope"), "unknown Ramanujan bound"),
        (lambda: layered_adjacency([np.ones((2, 3), bool), np.ones((2, 3), bool)]), "do not chain"),
        (lambda: layered_adjacency([]), "at least one"),
        (lambda: network_metrics({"a": np.ones((2, 2), bool)}, None, ("a", "b")), "no matrix 'b'"),
    ],
)
def test_bad_input_is_a_user_error(call, message):
    with pytest.raises(UserError, match=message):
        call()


def test_top_singular_values_match_a_full_svd():
    from grokking_tickets.analysis.graphs import _top2

    rng = np.random.default_rng(3)
    for shape in [(30, 7), (7, 30), (1, 5), (5, 1), (4, 4)]:
        B = rng.normal(size=shape)
        s = linalg.svdvals(B)
        assert _top2(B) == pytest.approx((s[0], s[1] if len(s) > 1 else 0.0), rel=1e-9, abs=1e-9)
