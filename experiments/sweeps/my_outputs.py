"""User outputs for a sweep or a run: functions that take the model and return numbers or a data frame.

Name them ``my_outputs:FUNCTION`` in ``[outputs] metrics`` (or ``bondsim run --output``), with this
folder on PYTHONPATH.
"""

import numpy as np
import pandas as pd


def bond_spread(model):
    """The standard deviation of the bonds over all ties (one number)."""
    return float(np.std(model.edge_bonds()))


def tone_range(model):
    """The lowest and highest tone (a dict: columns tone_range.low and tone_range.high)."""
    tone = model.state()["tone"]
    return {"low": float(tone.min()), "high": float(tone.max())}


def open_ties(model):
    """Per person, how many ties are open (a data frame: goes to the per-person dataset)."""
    net = model.network
    return pd.DataFrame({"open": np.add.reduceat(model.open_edges().astype(int), net.indptr[:-1])})
