"""Local fake platform APIs for the demo, the tests and the benchmarks."""

from connectors.sandbox.faults import Fault
from connectors.sandbox.portfolio import ChannelSpec, Portfolio
from connectors.sandbox.server import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, Sandbox

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "REFRESH_TOKEN",
    "ChannelSpec",
    "Fault",
    "Portfolio",
    "Sandbox",
]
