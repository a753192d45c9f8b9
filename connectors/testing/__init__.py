"""The conformance suite every adapter passes (``suite.py``) and its canonical sample source.

Import ``connectors.testing.suite`` (needs pytest) in tests; ``sample`` has no test deps.
"""
