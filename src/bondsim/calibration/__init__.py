"""Calibration: the published data the model's constants are fitted to, kept apart from the model.

- :mod:`~bondsim.calibration.occupancy`: PET receptor occupancy after naltrexone (Lee et al. 1988;
  Rabiner et al. 2011) and the residuals of the binding constants' fit.
"""
