"""Benchmarks of the lab's composite pipeline (``python benchmarks/run.py``; see README.md here)."""
