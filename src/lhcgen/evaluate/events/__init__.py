"""The event-generation report: histograms, chi^2/ndf and W1 against the floor, the
verdict, and the Bayesian band."""
