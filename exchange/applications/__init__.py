"""Applications (办件) for one-things: submission, fan-out pulls, case file, back office."""
