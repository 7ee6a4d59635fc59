"""Every connector package has the same files, and each is registered by its entry point."""

from __future__ import annotations

from pathlib import Path

from contentpulse import registry

CONNECTORS = Path(__file__).resolve().parents[2] / "connectors"
FILES = {"README.md", "__init__.py", "client.py", "hooks.py", "settings.py"}


def test_every_registered_connector_has_the_same_files():
    for platform in registry.platforms():
        files = {p.name for p in (CONNECTORS / platform).iterdir() if p.name != "__pycache__"}
        assert files == FILES, (platform, files ^ FILES)


def test_every_connector_package_is_registered():
    packages = {p.parent.name for p in CONNECTORS.glob("*/settings.py")}
    assert packages == set(registry.platforms())
