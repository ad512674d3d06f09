"""NOC Watch: a terminal console that probes HTTP(S) targets."""

__version__ = "0.1.0"
