"""Connectors: one package per platform, each of the same files (see contentpulse/contract.py).

A connector is registered by an entry point of `contentpulse.connectors` in pyproject.toml
naming its `settings.CONNECTOR`; contentpulse/registry.py is the one registry. This package
also holds what several connectors share: `retry`, `quota`, `social` (lifetime-counter
snapshots and the re-poll plan) and `graph` (Meta's Graph API, for Instagram and Facebook).
"""
