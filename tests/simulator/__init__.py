"""The platform simulator: real platform paths and payload shapes, served on 127.0.0.1 from a seeded corpus.

The shared core (servers, corpus, media, faults) is :mod:`tests.simulator.core`; each platform's routes and refusal
states are one module in :mod:`tests.simulator.platforms`.
"""

from tests.simulator.core import SimConfig, Simulator, Site

__all__ = ["SimConfig", "Simulator", "Site"]
