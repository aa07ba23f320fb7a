"""uts: the Universal Template System, composing Python service projects from components."""

__version__ = "0.1.0"
