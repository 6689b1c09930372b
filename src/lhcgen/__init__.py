"""lhcgen: generative surrogates for LHC physics, trained on Pythia 8 + FastJet events."""

__version__ = "0.1.0"
