"""Benchmarks of uts against copier and cookiecutter; run ``python bench/run.py``."""
