"""Benchmarks of the chat (load, scale, cost, cold start, faults): ``python -m bench``."""
