"""The process ``bondsim app`` becomes: Solara's server, where Ctrl-C is one line and exit status 130.

``bondsim app`` replaces itself with ``python -m bondsim.app.server ARGS`` (the arguments of
``solara run``), so that a kill or a terminal's Ctrl-C reaches the server directly. Solara's own
command line would print click's ``Aborted!`` (after an empty line) and exit 1; here the command is
invoked without click's top-level handling and an interrupt ends like every other command's.
"""

from __future__ import annotations

import logging
import sys
import threading


def warm_up() -> None:
    """Load the model, its compiled loops and the first lesson's settled community before any page asks.

    So the first page opens as fast as the next (this is about 2 s of a first page's load otherwise).
    """
    try:
        from .config import app_engine
        from .session import Session

        Session(engine=app_engine())
    except Exception:  # the first page shows any problem in its own words
        logging.getLogger(__name__).debug("bondsim app: warming up failed", exc_info=True)


def main(argv: list[str]) -> int:
    """Serve with ``solara run ARGV`` until interrupted; 130 on Ctrl-C (one line on stderr)."""
    threading.Thread(target=warm_up, name="bondsim-warm-up", daemon=True).start()
    try:
        from solara.__main__ import run

        with run.make_context("solara run", list(argv)) as ctx:
            run.invoke(ctx)
    except KeyboardInterrupt:
        print("bondsim app: interrupted", file=sys.stderr, flush=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
