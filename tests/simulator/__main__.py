"""``python -m tests.simulator [--port N]``: serve the simulator until interrupted."""

from tests.simulator.cli import main

main()
