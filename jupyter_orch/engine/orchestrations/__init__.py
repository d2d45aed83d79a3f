"""Orchestrations: uploaded zips, their blobs, and the Python environments they run in."""
