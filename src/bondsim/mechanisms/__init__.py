"""bondsim's own mechanisms, one module each; a model is an ordered list of them.

The default model, in order: the receptor and its drug, adaptation, tone, contact seeking, partner choice,
bonds, the reward memory and ratings, and separation events. Every module declares its
parameters, its per-person state, its rules and its outputs (see :mod:`bondsim.mechanism`).
"""

DEFAULT = (
    "bondsim.mechanisms.receptor",
    "bondsim.mechanisms.adaptation",
    "bondsim.mechanisms.tone",
    "bondsim.mechanisms.seeking",
    "bondsim.mechanisms.partner_choice",
    "bondsim.mechanisms.bonds",
    "bondsim.mechanisms.ratings",
    "bondsim.mechanisms.separation",
)
