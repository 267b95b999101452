"""Social networks as compressed sparse rows (CSR), shared by both engines.

Up to ``NETWORKX_MAX_NODES`` people the graph comes from NetworkX's generators
(Watts-Strogatz, G(n, m) and Barabasi-Albert; the first rewritten on plain sets, giving the
same ties faster). Above that, the same generators are run directly on arrays, so that a
million people fit in memory: a NetworkX graph of 10^6 nodes alone takes several GB.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Collection, Iterable
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
    reverse: np.ndarray  # (E,) int32 (int64 beyond 2^31 edges), index of the reverse edge

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
    """CSR network from undirected edge endpoints; drops self-loops and duplicates.

    Written to keep the peak memory low for millions of people: each directed edge is one int64
    key ``row * n + column``, sorted in place. The reverse of the k-th edge in (row, column) order
    is the k-th edge in (column, row) order, which a stable sort by column gives (within a column
    the rows are already in order).
    """
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    keep = src != dst
    low, high = np.minimum(src[keep], dst[keep]), np.maximum(src[keep], dst[keep])
    del keep
    key = sorted_unique(low * n + high)  # one key per undirected tie
    del low, high
    keys = np.concatenate([key, (key % n) * n + key // n])  # both directions
    del key
    keys.sort()  # by (row, column)
    rows = (keys // n).astype(np.int32)
    cols = (keys % n).astype(np.int32)
    del keys
    reverse = np.argsort(cols, kind="stable").astype(np.int32 if len(cols) < 2**31 else np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return SocialNetwork(indptr=indptr, indices=cols, row=rows, reverse=reverse)


def from_adjacency(n: int, adjacency: Iterable[tuple[int, Collection[int]]]) -> SocialNetwork:
    """CSR network from (node, its neighbours) pairs, each tie listed from both ends."""
    pairs = list(adjacency)
    nodes = np.fromiter((u for u, _ in pairs), dtype=np.int64, count=len(pairs))
    degrees = np.fromiter((len(neighbours) for _, neighbours in pairs), dtype=np.int64, count=len(pairs))
    neighbours = np.fromiter(itertools.chain.from_iterable(nb for _, nb in pairs), dtype=np.int64)
    return from_edges(n, np.repeat(nodes, degrees), neighbours)


def from_networkx(g: nx.Graph) -> SocialNetwork:
    """CSR network from a NetworkX graph whose nodes are 0..n-1."""
    return from_adjacency(g.number_of_nodes(), g.adjacency())


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
            return _watts_strogatz(n, 2 * half, rewiring, seed)
        if kind == "random":
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


def _watts_strogatz(n: int, k: int, p: float, seed: int) -> SocialNetwork:
    """NetworkX's ``watts_strogatz_graph(n, k, p, seed)``: the same draws in the same order, so the same ties.

    Each node links to k/2 neighbours on each side of a ring; then, neighbour distance by distance
    and node by node, each tie is rewired with probability p to a node drawn uniformly, redrawn
    while it is the node itself or already a neighbour. Only the changes to the ring are kept
    (ring ties cut, other ties made), so that a tenth of the ties being rewired costs a tenth of
    the work: about 2 ms for 1,000 people, against 13 ms for the NetworkX graph.
    tests/test_network.py checks that both give the same network, dense corners included.
    """
    if k > n:
        raise ValueError(f"a small world needs k <= n, got k = {k}, n = {n}")
    if k == n:  # as NetworkX: everyone linked to everyone, no draws
        src, dst = np.triu_indices(n, 1)
        return from_edges(n, src, dst)
    draw = random.Random(seed)
    uniform, choose, nodes = draw.random, draw.choice, range(n)
    half = k // 2
    # the ring as arrays: tie u * half + (j - 1) links u to u + j, for j = 1..half
    src = np.repeat(np.arange(n, dtype=np.int64), half)
    dst = (src + np.tile(np.arange(1, half + 1, dtype=np.int64), n)) % n
    cut: set[int] = set()  # the ring ties rewired away
    made: dict[int, set[int]] = {}  # the ties off the ring, from both ends
    degree_change: Counter[int] = Counter()  # ties gained less ties lost, by node

    def ring_tie(u: int, v: int) -> int | None:
        d = (v - u) % n
        return u * half + d - 1 if 0 < d <= half else v * half + n - d - 1 if n - d <= half else None

    def linked(u: int, v: int) -> bool:
        tie = ring_tie(u, v)
        return v in made.get(u, ()) if tie is None else tie not in cut

    for j in range(1, half + 1):
        for u in nodes:
            if uniform() < p:
                w = choose(nodes)
                while w == u or linked(u, w):
                    w = choose(nodes)
                    if 2 * half + degree_change[u] >= n - 1:
                        break  # no node left to rewire to
                else:
                    cut.add(u * half + j - 1)  # still there: each ring tie is visited once
                    tie = ring_tie(u, w)
                    if tie is None:
                        made.setdefault(u, set()).add(w)
                        made.setdefault(w, set()).add(u)
                    else:
                        cut.discard(tie)  # a ring tie cut before, made again
                    degree_change[(u + j) % n] -= 1
                    degree_change[w] += 1
    kept = np.ones(src.size, dtype=bool)
    kept[np.fromiter(cut, dtype=np.int64, count=len(cut))] = False
    extra = np.array([(u, v) for u, others in made.items() for v in others if u < v], dtype=np.int64).reshape(-1, 2)
    return from_edges(n, np.concatenate([src[kept], extra[:, 0]]), np.concatenate([dst[kept], extra[:, 1]]))


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
