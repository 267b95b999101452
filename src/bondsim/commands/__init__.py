"""The ``bondsim`` commands, one module each, named after the command.

Each provides ``add_arguments(parser)`` and ``command(args) -> int`` (``bondsim.cli`` lists
them); the work itself is done by the library (:mod:`bondsim.model`, :mod:`bondsim.sweep`,
:mod:`bondsim.trials`, :mod:`bondsim.experiments`, ...). :func:`bondsim.commands.run.write_run`
is ``bondsim run`` for scripts.
"""
