"""Gatehouse: an enterprise SSO broker."""

__version__ = "0.1.0"
