"""One module per server of the stand-in: start it, tell whether it is healthy, stop it."""
