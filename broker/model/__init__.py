"""Decisions without I/O: the values every other package passes around, and the pure rules
(routing, claims) that turn them into outcomes. Standard library only, so every rule here is
a plain function a test can call with plain values."""
