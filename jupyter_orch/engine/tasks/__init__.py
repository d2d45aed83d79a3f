"""Tasks: run once, on a schedule or continuously; their runs, run logs and scheduler."""
