"""What ``bondsim app`` passes to the server process in its environment: the engine and a config file."""

from __future__ import annotations

import functools
import os

from ..errors import UserError
from ..params import Params, load

CONFIG_ENV = "BONDSIM_APP_CONFIG"  # a config file whose mechanisms, drugs and parameters every lesson starts from
ENGINE_ENV = "BONDSIM_APP_ENGINE"
# a lesson starts from the model's own settled start (run.settled_model); a config may set warmup_days = 0
LESSON_START = Params()


@functools.cache
def base_params() -> Params | None:
    """The parameters of ``bondsim app --config FILE`` (None without a config), on top of :data:`LESSON_START`."""
    path = os.environ.get(CONFIG_ENV)
    return load(path, base=LESSON_START) if path else None


def default_engine() -> str:
    """The array engine if its extra (numba) is installed, else the agents engine (the same model, slower)."""
    from ..extras import missing

    return "agents" if missing("array") else "array"


def app_engine() -> str:
    """The engine the app runs (``BONDSIM_APP_ENGINE``, default :func:`default_engine`)."""
    engine = os.environ.get(ENGINE_ENV) or default_engine()
    if engine not in ("array", "agents"):
        raise UserError(f"{ENGINE_ENV} = {engine!r}: use array or agents")
    return engine
