"""Social networks as compressed sparse rows (CSR), shared by both engines.

Up to ``NETWORKX_MAX_NODES`` people the graph comes from NetworkX's generators
(Watts-Strogatz, G(n, m) and Barabasi-Albert). Above that, the same generators are
run directly on arrays, so that a million people fit in memory: a NetworkX graph
of 10^6 nodes alone takes several GB.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

NETWORKX_MAX_NODES = 20_000


@dataclass(frozen=True)
class SocialNetwork:
    """An undirected network stored as directed edges in CSR form.

    Edge ``e`` goes from ``row[e]`` to ``indices[e]``; ``reverse[e]`` is the edge
    going back, so a bond and its counterpart are found in O(1).
    """

    indptr: np.ndarray  # (n + 1,) int64
    indices: np.ndarray  # (E,) int32, neighbours sorted within each row
    row: np.ndarray  # (E,) int32, owner of each edge
    reverse: np.ndarray  # (E,) int64, index of the reverse edge

    @property
    def n(self) -> int:
        """Number of people."""
        return len(self.indptr) - 1

    @property
    def n_edges(self) -> int:
        """Number of directed edges (twice the undirected ties)."""
        return len(self.indices)

    def degree(self) -> np.ndarray:
        """Number of neighbours of each person."""
        return np.diff(self.indptr)

    def neighbours(self, i: int) -> np.ndarray:
        """Neighbours of person ``i``."""
        return self.indices[self.indptr[i]:self.indptr[i + 1]]

    def edge(self, i: int, j: int) -> int:
        """Index of the directed edge i -> j (raises KeyError if absent)."""
        lo, hi = self.indptr[i], self.indptr[i + 1]
        k = lo + int(np.searchsorted(self.indices[lo:hi], j))
        if k >= hi or self.indices[k] != j:
            raise KeyError(f"{i} and {j} are not neighbours")
        return k

    def to_networkx(self) -> nx.Graph:
        """The network as a NetworkX graph (for drawing and analysis of small networks)."""
        g = nx.Graph()
        g.add_nodes_from(range(self.n))
        mask = self.row < self.indices
        g.add_edges_from(zip(self.row[mask].tolist(), self.indices[mask].tolist(), strict=True))
        return g


def from_edges(n: int, src: np.ndarray, dst: np.ndarray) -> SocialNetwork:
    """CSR network from undirected edge endpoints; drops self-loops and duplicates."""
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    keep = src != dst
    a, b = np.minimum(src[keep], dst[keep]), np.maximum(src[keep], dst[keep])
    key = np.unique(a * n + b)
    a, b = key // n, key % n
    rows = np.concatenate([a, b])
    cols = np.concatenate([b, a])
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    # the reverse of edge (r, c) is the position of (c, r) in the same sorted order
    reverse = np.searchsorted(rows * n + cols, cols * n + rows)
    return SocialNetwork(indptr=indptr, indices=cols.astype(np.int32), row=rows.astype(np.int32),
                         reverse=reverse.astype(np.int64))


def from_networkx(g: nx.Graph) -> SocialNetwork:
    """CSR network from a NetworkX graph whose nodes are 0..n-1."""
    edges = np.array(list(g.edges()), dtype=np.int64).reshape(-1, 2)
    return from_edges(g.number_of_nodes(), edges[:, 0], edges[:, 1])


def build(kind: str, n: int, mean_degree: int, rng: np.random.Generator, rewiring: float = 0.1) -> SocialNetwork:
    """Build a social network of ``n`` people with about ``mean_degree`` ties each.

    ``kind`` is ``small_world`` (Watts-Strogatz ring with rewiring), ``random``
    (Erdos-Renyi with n * k / 2 ties) or ``scale_free`` (Barabasi-Albert, k / 2 ties
    per newcomer).
    """
    seed = int(rng.integers(2**31 - 1))
    half = max(1, mean_degree // 2)
    if n <= NETWORKX_MAX_NODES:
        if kind == "small_world":
            g = nx.watts_strogatz_graph(n, 2 * half, rewiring, seed=seed)
        elif kind == "random":
            g = nx.gnm_random_graph(n, n * mean_degree // 2, seed=seed)
        elif kind == "scale_free":
            g = nx.barabasi_albert_graph(n, half, seed=seed)
        else:
            raise ValueError(f"unknown network '{kind}'")
        return from_networkx(g)
    arr_rng = np.random.default_rng(seed)
    if kind == "small_world":
        return _small_world_arrays(n, half, rewiring, arr_rng)
    if kind == "random":
        m = n * mean_degree // 2
        return from_edges(n, arr_rng.integers(n, size=m), arr_rng.integers(n, size=m))
    if kind == "scale_free":
        return _scale_free_arrays(n, half, arr_rng)
    raise ValueError(f"unknown network '{kind}'")


def _small_world_arrays(n: int, half: int, p: float, rng: np.random.Generator) -> SocialNetwork:
    """Watts-Strogatz on arrays: a ring where each node links to ``half`` on each side, rewired with p."""
    src = np.repeat(np.arange(n, dtype=np.int64), half)
    dst = (src + np.tile(np.arange(1, half + 1), n)) % n
    rewire = rng.random(src.size) < p
    dst[rewire] = rng.integers(n, size=int(rewire.sum()))
    return from_edges(n, src, dst)


def _scale_free_arrays(n: int, m: int, rng: np.random.Generator) -> SocialNetwork:
    """Barabasi-Albert on arrays, by the 'repeated endpoints' formulation.

    New node t (t >= m) links to m targets, each drawn uniformly from the list of all
    endpoints of earlier edges, which is preferential attachment. An endpoint slot is
    either a source (known: its node) or an earlier target, resolved by pointer jumping.
    """
    first = m  # nodes 0..m-1 start as the seed; node m links to all of them
    n_new = n - first
    src = np.repeat(np.arange(first, n, dtype=np.int64), m)
    slots = 2 * m * np.arange(n_new, dtype=np.int64)  # endpoint slots before each newcomer
    target = np.empty(n_new * m, dtype=np.int64)
    target[:m] = np.arange(m)
    pos = (rng.random(n_new * m - m) * np.repeat(slots[1:], m)).astype(np.int64)
    # even slot 2k is source of edge k, odd slot 2k + 1 is target of edge k
    edge = pos // 2
    is_source = pos % 2 == 0
    target[m:] = np.where(is_source, src[edge], -1 - edge)
    pending = target < 0
    while pending.any():
        ref = -1 - target[pending]
        target[pending] = target[ref]
        pending = target < 0
    return from_edges(n, src, target)
