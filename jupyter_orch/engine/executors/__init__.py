"""Executors start task runs somewhere (here: local subprocesses) and stream their output."""
