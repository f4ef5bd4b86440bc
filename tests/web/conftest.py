"""Workspace fixtures (defined in `workspace_env.py`, importable by the tests as well)."""

from workspace_env import db_env, env

__all__ = ["db_env", "env"]
