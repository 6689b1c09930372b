"""Judging generated events against the truth.

- ``events``: the event-generation report (histograms, chi^2/ndf and W1 against the floor,
  the verdict, the Bayesian band);
- ``classifier``: the classifier two-sample test and reweighting, and its report section;
- ``jets``: the JetNet metrics and substructure plots of jets as particle clouds;
- shared: ``histograms`` (binning, filling), ``distances`` (chi^2/ndf, W1, the floor),
  ``figures`` (the three-panel histogram), ``html`` (the report pages), ``verdict``.
"""
