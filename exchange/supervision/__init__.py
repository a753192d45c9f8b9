"""Supervision (督察评估): how far the reform has come, per one-thing and per department."""
