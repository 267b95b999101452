"""Calibration: the published data the model's constants are fitted to, kept apart from the model.

- :mod:`~bondsim.calibration.occupancy`: PET receptor occupancy after naltrexone (Lee et al. 1988;
  Rabiner et al. 2011) and the residuals of the binding constants' fit.
- :mod:`~bondsim.calibration.spec`: a joint calibration's spec (priors, training targets,
  constraints, ABC settings), checked where it enters.
- :mod:`~bondsim.calibration.run`: ``bondsim calibrate``: ABC-SMC with pyabc
  (:mod:`~bondsim.calibration.smc`), each particle simulated by :mod:`~bondsim.calibration.particle`
  on bondsim's runner; the directions it enforces are :mod:`~bondsim.calibration.constraints`.
- :mod:`~bondsim.calibration.posterior`: a fitted posterior (the shipped ``default``), and the
  parameter sets a virtual trial draws from it (``bondsim trial --posterior``).
"""
