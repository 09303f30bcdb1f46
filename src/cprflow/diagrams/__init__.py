"""Diagram sets: reading and checking them before deploy, and the differences between versions."""
