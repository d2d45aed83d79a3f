"""The jupyter_server extension: REST routes and the push channel over the engine."""
