"""The console: server-rendered pages for data administrators and auditors (``/console``)."""
