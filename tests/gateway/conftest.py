"""The gateway tests' fixtures live in `gateway_env.py` (a unique module name: test modules
import helpers from it, and several directories have a `conftest` module)."""

from gateway_env import gw

__all__ = ["gw"]
