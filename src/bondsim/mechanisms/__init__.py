"""bondsim's own mechanisms, one module each; a model is an ordered list of them.

The default model, in order: the receptor and its drug, tone, contact seeking, partner choice,
bonds, the reward memory and ratings, adaptation (after what people observe and report), and
separation events. Every module declares its parameters, its per-person state, its rules and
its outputs (see :mod:`bondsim.mechanism`).
"""

DEFAULT = (
    "bondsim.mechanisms.receptor",
    "bondsim.mechanisms.tone",
    "bondsim.mechanisms.seeking",
    "bondsim.mechanisms.partner_choice",
    "bondsim.mechanisms.bonds",
    "bondsim.mechanisms.ratings",
    "bondsim.mechanisms.adaptation",
    "bondsim.mechanisms.separation",
)
