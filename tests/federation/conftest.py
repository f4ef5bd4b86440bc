"""The federation tests' fixtures live in `fed_env.py` (a unique module name: test modules
import helpers from it, and several test directories have a `conftest` module)."""

from fed_env import federation

__all__ = ["federation"]
