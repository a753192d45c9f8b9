"""The lifecycle sweeps run in the hub's background (``scheduler``)."""
