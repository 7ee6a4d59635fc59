"""Local fake platform APIs for the demo, the tests and the benchmarks."""

from sandbox.faults import Fault
from sandbox.portfolio import ChannelSpec, Portfolio
from sandbox.server import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, Sandbox

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "REFRESH_TOKEN",
    "ChannelSpec",
    "Fault",
    "Portfolio",
    "Sandbox",
]
