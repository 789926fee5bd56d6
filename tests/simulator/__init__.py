"""The platform simulator: real platform paths and payload shapes, served on 127.0.0.1 from a seeded corpus."""

from tests.simulator.server import SimConfig, Simulator

__all__ = ["SimConfig", "Simulator"]
