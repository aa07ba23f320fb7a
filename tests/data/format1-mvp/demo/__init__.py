"""demo: a service composed by uts."""

__version__ = "0.1.0"
