"""The process ``bondsim app`` becomes: Solara's server, where Ctrl-C is one line and exit status 130.

``bondsim app`` replaces itself with ``python -m bondsim.app.server ARGS`` (the arguments of
``solara run``), so that a kill or a terminal's Ctrl-C reaches the server directly. Solara's own
command line would print click's ``Aborted!`` (after an empty line) and exit 1; here the command is
invoked without click's top-level handling and an interrupt ends like every other command's.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    """Serve with ``solara run ARGV`` until interrupted; 130 on Ctrl-C (one line on stderr)."""
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
