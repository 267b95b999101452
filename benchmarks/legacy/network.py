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
        return self.indices[self.indptr[i] : self.indptr[i + 1]]

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


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (by one sort: faster than ``np.unique`` on large integer arrays)."""
    values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def from_edges(n: int, src: np.ndarray, dst: np.ndarray) -> SocialNetwork:
    """CSR network from undirected edge endpoints; drops self-loops and duplicates."""
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    keep = src != dst
    key = sorted_unique(np.minimum(src[keep], dst[keep]) * n + np.maximum(src[keep], dst[keep]))
    a, b = key // n, key % n
    del key
    m = len(a)
    # directed edges: k -> (a[k], b[k]) and m + k -> (b[k], a[k]), sorted by (row, column)
    rows, cols = np.concatenate([a, b]), np.concatenate([b, a])
    del a, b
    order = np.argsort(rows * n + cols)
    rows, cols = rows[order], cols[order]
    position = np.empty(2 * m, dtype=np.int64)
    position[order] = np.arange(2 * m)
    # the reverse of directed edge k is m + k and back: look both up in the sorted order
    reverse = position[(order + m) % (2 * m)]
    del position, order
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return SocialNetwork(indptr=indptr, indices=cols.astype(np.int32), row=rows.astype(np.int32), reverse=reverse)


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
        return _random_arrays(n, n * mean_degree // 2, arr_rng)
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


def _random_arrays(n: int, m: int, rng: np.random.Generator) -> SocialNetwork:
    """G(n, m) on arrays: ``m`` distinct ties drawn uniformly among all pairs (self-pairs and repeats redrawn)."""
    keys = np.zeros(0, dtype=np.int64)
    while keys.size < m:
        a, b = rng.integers(n, size=(2, m - keys.size))
        keep = a != b
        lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
        keys = sorted_unique(np.concatenate([keys, lo * n + hi]))
    return from_edges(n, keys // n, keys % n)


def _scale_free_arrays(n: int, m: int, rng: np.random.Generator) -> SocialNetwork:
    """Barabasi-Albert on arrays, by the 'repeated endpoints' formulation.

    As in NetworkX, node m starts as the centre of a star over nodes 0..m-1, and
    each later node t links to m distinct targets, each drawn uniformly from the
    list of all endpoints of earlier edges (which is preferential attachment). An
    endpoint is either the source of an earlier edge (known: its node) or the
    target of an earlier edge, which is copied, so every target is found by
    following copies back to a known node. A target that repeats one of the same
    node's earlier targets is drawn again, as NetworkX does, until all are distinct.
    """
    n_new = n - m
    src = np.repeat(np.arange(m, n, dtype=np.int64), m)
    slots = np.repeat(2 * m * np.arange(n_new, dtype=np.int64), m)  # endpoints before each newcomer's edges
    # link >= 0 is a node; link < 0 copies the target of edge -1 - link (always an earlier edge)
    link = np.empty(n_new * m, dtype=np.int64)
    link[:m] = np.arange(m)
    redraw = np.arange(m, n_new * m)
    while redraw.size:
        pos = (rng.random(redraw.size) * slots[redraw]).astype(np.int64)
        edge = pos // 2  # endpoint 2k is the source of edge k, 2k + 1 its target
        link[redraw] = np.where(pos % 2 == 0, src[edge], -1 - edge)
        target = _follow_copies(link)
        redraw = _repeats(target.reshape(n_new, m))
    return from_edges(n, src, target)


def _follow_copies(link: np.ndarray) -> np.ndarray:
    """Resolve each copied target to a node (copies point to earlier edges, so this ends)."""
    target = link.copy()
    pending = np.flatnonzero(target < 0)
    while pending.size:
        target[pending] = target[-1 - target[pending]]
        pending = pending[target[pending] < 0]
    return target


def _repeats(targets: np.ndarray) -> np.ndarray:
    """Flat positions of entries that repeat an earlier entry of the same row."""
    order = np.argsort(targets, axis=1, kind="stable")
    ranked = np.take_along_axis(targets, order, axis=1)
    repeat = ranked[:, 1:] == ranked[:, :-1]
    rows, cols = np.nonzero(repeat)
    return rows * targets.shape[1] + order[rows, cols + 1]
