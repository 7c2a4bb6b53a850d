"""The embedded ASR simulator (the default provider, and the mock provider of the tests)."""

from asrctl.recovery.providers.simulator.faults import FAULT_EFFECTS, Fault, load_faults
from asrctl.recovery.providers.simulator.provider import DEFAULT_SPEED, SimulatorProvider, sim_speed
from asrctl.recovery.providers.simulator.world import World, reset_world, world_path

__all__ = ["DEFAULT_SPEED", "FAULT_EFFECTS", "Fault", "SimulatorProvider", "World", "load_faults", "reset_world",
           "sim_speed", "world_path"]
