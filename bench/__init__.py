"""Benchmarks that drive Gatehouse over real HTTP, as separate processes (`make bench`).

Nothing here is imported by the broker; these modules are tools for measuring it.
"""
