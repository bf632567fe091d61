"""The benchmarks' one error of their own."""

from __future__ import annotations


class BenchSetupError(RuntimeError):
    """A process did not come up, or the database could not be prepared."""
