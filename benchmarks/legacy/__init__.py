"""A frozen copy of bondsim 0.1.0's model core (before the mechanisms rewrite): the baseline of the benchmarks.

It carries its own network and error modules, so that no change to today's code moves it.

`benchmarks/engines.py` measures today's engines against this array engine in the same run, and
`benchmarks/legacy_results.py` shows that the default model's results moved only within Monte
Carlo error. Do not edit: it stands for the old code.
"""
