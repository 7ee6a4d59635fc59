"""The command line's habits: --version, help on every flag of every command."""

from __future__ import annotations

import argparse
from importlib.metadata import version

import pytest

from contentpulse.cli import _parser, main


def parsers(parser: argparse.ArgumentParser, name: str = "contentpulse"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from parsers(sub, f"{name} {sub_name}")


def test_version_prints_the_installed_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"contentpulse {version('contentpulse')}"


def test_every_flag_of_every_command_has_help():
    undocumented = [
        f"{name} {'/'.join(action.option_strings)}"
        for name, parser in parsers(_parser())
        for action in parser._actions
        if action.option_strings and not action.help
    ]
    commands = [name for name, _ in parsers(_parser())]
    assert {"contentpulse status", "contentpulse report", "contentpulse sandbox serve"} <= set(
        commands
    )
    assert undocumented == []
