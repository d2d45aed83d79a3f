"""The kernel side of jupyter-orch: the `%orch` magics, the live widgets and their push channel."""
