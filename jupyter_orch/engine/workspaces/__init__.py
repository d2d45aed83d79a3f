"""Workspaces and the connections attached to them."""
