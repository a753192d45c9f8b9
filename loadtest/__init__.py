"""Proof under load: several real hub processes, mixed traffic, crashes, and what the log says.

``python -m loadtest run`` seeds the demo province on a database of its own (PostgreSQL
with ``--postgres-url`` or ``DATARUN_LOADTEST_POSTGRES_URL``, else SQLite), starts N hub
processes (``datarun serve``), the demo HTTP department and a load generator, and checks
afterwards that every data response served has its access-log entries and that the log
verifies. ``python -m loadtest crash`` does the same while ``kill -9``-ing hub processes.

Loopback only, bounded in count and in time. ``cluster`` runs the processes, ``workload``
says what to ask, ``traffic`` asks it, ``checks`` compares the answers with the database,
``report`` prints the tables.
"""
