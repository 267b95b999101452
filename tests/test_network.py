"""Social networks: CSR invariants, and the array generators (used above NETWORKX_MAX_NODES) against NetworkX's."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from scipy import sparse

from bondsim import network
from bondsim.network import NETWORKX_MAX_NODES, SocialNetwork, build, from_edges, from_networkx

KINDS = ("small_world", "random", "scale_free")
N = 20_000  # the largest size NetworkX builds for the model: compare the two generators there
SEEDS = (1, 2, 3)


def adjacency(net: SocialNetwork) -> sparse.csr_matrix:
    data = np.ones(net.n_edges)
    return sparse.csr_matrix((data, net.indices, net.indptr), shape=(net.n, net.n))


def average_clustering(net: SocialNetwork) -> float:
    """Mean local clustering coefficient (0 for degree < 2, as in NetworkX)."""
    a = adjacency(net)
    triangles = np.asarray((a @ a).multiply(a).sum(axis=1)).ravel() / 2
    d = net.degree().astype(float)
    pairs = d * (d - 1) / 2
    local = np.divide(triangles, pairs, out=np.zeros_like(pairs), where=pairs > 0)
    return float(local.mean())


def check_csr(net: SocialNetwork) -> None:
    """Rows sorted, no self-loops or repeats, every edge has its reverse."""
    e = np.arange(net.n_edges)
    assert net.indptr[0] == 0 and net.indptr[-1] == net.n_edges and np.all(np.diff(net.indptr) >= 0)
    assert np.all(net.row == np.repeat(np.arange(net.n), net.degree()))
    assert np.all(net.row != net.indices)
    same_row = net.row[1:] == net.row[:-1]
    assert np.all(net.indices[1:][same_row] > net.indices[:-1][same_row])  # sorted, hence no repeats
    assert np.all(net.reverse[net.reverse] == e)
    assert np.all(net.row[net.reverse] == net.indices) and np.all(net.indices[net.reverse] == net.row)


def networkx_version(kind: str, n: int, k: int, seed: int) -> SocialNetwork:
    if kind == "small_world":
        return from_networkx(nx.watts_strogatz_graph(n, k, 0.1, seed=seed))
    if kind == "random":
        return from_networkx(nx.gnm_random_graph(n, n * k // 2, seed=seed))
    return from_networkx(nx.barabasi_albert_graph(n, k // 2, seed=seed))


def array_version(kind: str, n: int, k: int, seed: int) -> SocialNetwork:
    rng = np.random.default_rng(seed)
    if kind == "small_world":
        return network._small_world_arrays(n, k // 2, 0.1, rng)
    if kind == "random":
        return network._random_arrays(n, n * k // 2, rng)
    return network._scale_free_arrays(n, k // 2, rng)


def summary(net: SocialNetwork) -> dict[str, float]:
    d = net.degree()
    tail = {f"at least {x}": np.mean(d >= x) for x in (8, 16, 32, 64)}  # fraction of people with >= x ties
    return {
        "mean": d.mean(),
        "var": d.var(),
        "max": d.max(),
        "min": d.min(),
        "clustering": average_clustering(net),
        **tail,
    }


@pytest.fixture(scope="module")
def compared():
    """Degree and clustering summaries of both generators, averaged over three seeds."""
    out = {}
    for kind in KINDS:
        both = {}
        for name, make in (("networkx", networkx_version), ("arrays", array_version)):
            rows = [summary(make(kind, N, 8, seed)) for seed in SEEDS]
            both[name] = {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}
            both[name]["min"] = min(r["min"] for r in rows)
        out[kind] = both
    return out


def test_clustering_helper_matches_networkx():
    g = nx.watts_strogatz_graph(300, 6, 0.2, seed=4)
    assert average_clustering(from_networkx(g)) == pytest.approx(nx.average_clustering(g), rel=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_array_generators_are_valid_networks(kind):
    net = array_version(kind, 3000, 8, seed=9)
    check_csr(net)
    assert net.n == 3000


@pytest.mark.slow
@pytest.mark.xdist_group("network_compared")  # they share the module's comparison (one process under make test)
@pytest.mark.parametrize("kind", KINDS)
def test_mean_degree_matches_networkx(kind, compared):
    nxs, arr = compared[kind]["networkx"], compared[kind]["arrays"]
    assert arr["mean"] == pytest.approx(nxs["mean"], abs=0.01)  # both 8 up to a few dropped repeats


@pytest.mark.slow
@pytest.mark.xdist_group("network_compared")
def test_small_world_degrees_and_clustering_match_networkx(compared):
    nxs, arr = compared["small_world"]["networkx"], compared["small_world"]["arrays"]
    assert arr["var"] == pytest.approx(nxs["var"], rel=0.1)
    assert abs(arr["max"] - nxs["max"]) <= 2
    assert arr["clustering"] == pytest.approx(nxs["clustering"], abs=0.01)
    # ring lattice of degree K = 8: 3 (K - 2) / (4 (K - 1)), times (1 - p)^3 for rewiring p = 0.1
    assert arr["clustering"] == pytest.approx(3 * 6 / (4 * 7) * 0.9**3, abs=0.01)


@pytest.mark.slow
@pytest.mark.xdist_group("network_compared")
def test_random_degrees_and_clustering_match_networkx(compared):
    nxs, arr = compared["random"]["networkx"], compared["random"]["arrays"]
    assert arr["var"] == pytest.approx(nxs["var"], rel=0.05)  # Poisson-like: variance about the mean, 8
    assert arr["var"] == pytest.approx(8.0, rel=0.05)
    assert abs(arr["max"] - nxs["max"]) <= 3
    assert arr["clustering"] < 1e-3 and nxs["clustering"] < 1e-3  # about k / n = 4e-4


@pytest.mark.slow
@pytest.mark.xdist_group("network_compared")
def test_scale_free_degrees_and_clustering_match_networkx(compared):
    nxs, arr = compared["scale_free"]["networkx"], compared["scale_free"]["arrays"]
    assert arr["min"] == nxs["min"] == 4  # every newcomer brings m = 4 distinct ties
    assert arr["var"] == pytest.approx(nxs["var"], rel=0.15)
    assert arr["max"] == pytest.approx(nxs["max"], rel=0.4)  # the largest hub varies a lot between seeds
    assert arr["clustering"] == pytest.approx(nxs["clustering"], rel=0.3)


@pytest.mark.slow
@pytest.mark.xdist_group("network_compared")
def test_scale_free_degree_tail_matches_networkx(compared):
    # the share of people with at least 8, 16, 32, 64 ties: a power law in both
    nxs, arr = compared["scale_free"]["networkx"], compared["scale_free"]["arrays"]
    for key in ("at least 8", "at least 16", "at least 32", "at least 64"):
        assert arr[key] == pytest.approx(nxs[key], rel=0.15), key


def test_build_switches_to_arrays_above_the_networkx_limit():
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    big = build("small_world", NETWORKX_MAX_NODES + 1, 8, rng_a)
    again = build("small_world", NETWORKX_MAX_NODES + 1, 8, rng_b)
    check_csr(big)
    np.testing.assert_array_equal(big.indices, again.indices)  # same seed, same network
    assert big.degree().mean() == pytest.approx(8.0, abs=0.01)


def test_from_edges_drops_self_loops_and_repeats():
    net = from_edges(4, np.array([0, 1, 0, 2, 3]), np.array([1, 0, 0, 3, 2]))
    check_csr(net)
    assert net.n_edges == 4  # ties 0-1 and 2-3, each in both directions
    assert net.neighbours(0).tolist() == [1] and net.neighbours(3).tolist() == [2]
    assert net.edge(2, 3) == net.reverse[net.edge(3, 2)]
    with pytest.raises(KeyError):
        net.edge(0, 2)


@pytest.mark.parametrize("kind", KINDS)
def test_networkx_and_csr_round_trip(kind):
    net = build(kind, 200, 6, np.random.default_rng(3))
    check_csr(net)
    again = from_networkx(net.to_networkx())
    np.testing.assert_array_equal(net.indptr, again.indptr)
    np.testing.assert_array_equal(net.indices, again.indices)


@pytest.mark.parametrize(
    ("n", "k", "p", "seed"),
    [
        (1000, 8, 0.1, 3),
        (50, 6, 0.5, 1),
        (20, 18, 0.9, 7),
        (200, 4, 1.0, 11),
        (12, 10, 1.0, 5),
        (300, 8, 0.0, 2),
        (25, 7, 0.8, 4),
        (12, 11, 1.0, 2),  # odd k: k // 2 neighbours on each side
        (9, 9, 0.5, 1),  # k = n: the complete graph
    ],
)
def test_small_world_on_sets_gives_networkx_ties(n, k, p, seed):
    """The set-based Watts-Strogatz draws as NetworkX does: the very same network (dense corners included)."""
    ours = network._watts_strogatz(n, k, p, seed)
    theirs = from_networkx(nx.watts_strogatz_graph(n, k, p, seed=seed))
    for field in ("indptr", "indices", "row", "reverse"):
        np.testing.assert_array_equal(getattr(ours, field), getattr(theirs, field), err_msg=field)
    rng = np.random.default_rng(seed)
    drawn = int(np.random.default_rng(seed).integers(2**31 - 1))
    built = build("small_world", n, k, rng, p)
    np.testing.assert_array_equal(built.indices, from_networkx(nx.watts_strogatz_graph(n, k, p, seed=drawn)).indices)
