"""A minimal plain-Mesa model of the same bonding rules, written the way Mesa models usually are.

One ``mesa.Agent`` per person with its tone and a dict of bonds, ``shuffle_do("step")`` each step,
a DataCollector recording two means every step, no drug, no phases: the speed a Mesa user gets
writing this idea directly. The benchmarks measure
bondsim's agents engine against it in the same run.
"""

from __future__ import annotations

import math

import mesa
import networkx as nx


class Person(mesa.Agent):
    """Tone relaxing to a set point, bonds to neighbours, distress driving contact seeking."""

    def __init__(self, model: PlainBondingModel) -> None:
        super().__init__(model)
        self.tone = 1.0
        self.bonds: dict[Person, float] = {}
        self.distress = 0.0

    def step(self) -> None:
        m = self.model
        rate = 0.15 + 1.0 * self.distress
        if self.random.random() < 1.0 - math.exp(-rate):
            partners = list(self.bonds)
            weights = [0.05 + b**3 for b in self.bonds.values()]
            partner = self.random.choices(partners, weights)[0]
            if self.random.random() < m.accept_probability:
                reward = m.reward(self.tone)
                self.tone += 0.5
                partner.tone += 0.5
                self.bonds[partner] = 1.0 - (1.0 - self.bonds[partner]) * (1.0 - 0.1 * reward)
                partner.bonds[self] = 1.0 - (1.0 - partner.bonds[self]) * (1.0 - 0.1 * reward)
            else:
                self.tone *= 0.7
        for other in self.bonds:
            self.bonds[other] *= m.bond_keep
        self.tone = 1.0 + (self.tone - 1.0) * m.tone_keep
        e = 0.25 * self.tone
        self.distress = min(max(1.0 - (e / (1.0 + e)) / 0.2, 0.0), 1.0)


class PlainBondingModel(mesa.Model):
    """``n`` people on a small-world network."""

    def __init__(self, n: int = 1000, seed: int = 1, rejection_rate: float = 0.2, rng: int | None = None) -> None:
        super().__init__(rng=seed if rng is None else rng)
        self.accept_probability = 1.0 - rejection_rate
        self.tone_keep = math.exp(-1.0 / 3.0)
        self.bond_keep = math.exp(-math.log(2.0) / (24.0 * 60.0))
        people = [Person(self) for _ in range(n)]
        graph = nx.watts_strogatz_graph(n, 8, 0.1, seed=seed)
        for a, b in graph.edges():
            people[a].bonds[people[b]] = self.random.random() * 0.4
            people[b].bonds[people[a]] = self.random.random() * 0.4
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "mean_tone": lambda m: sum(p.tone for p in m.agents) / len(m.agents),
                "distress": lambda m: sum(p.distress for p in m.agents) / len(m.agents),
            }
        )

    @staticmethod
    def reward(tone: float) -> float:
        """Extra receptor activation from one contact's release, relative to the set point."""
        e0, e1 = 0.25 * tone, 0.25 * (tone + 0.5)
        return (e1 / (1.0 + e1) - e0 / (1.0 + e0)) / (0.375 / 1.375 - 0.2)

    def step(self) -> None:
        self.agents.shuffle_do("step")
        self.datacollector.collect(self)
