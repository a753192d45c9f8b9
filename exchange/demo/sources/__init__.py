"""The demo departments' own data: generated reproducibly from a seed, bound to the catalogue.

``generate`` builds a synthetic 浙江 population (``people``) and what departments record
about it (``world``), as each department's own tables (``civil``, ``estate``,
``enterprise``), writes them where each department keeps data (``store``: SQLite,
PostgreSQL, MariaDB, DuckDB, Parquet, CSV), and ``http_department`` serves 人社厅's over
its own JSON API. ``bindings`` binds the catalogue's resources to all of it; ``cast`` holds
the fixed people and keys that the README and the tests pull.
"""
