"""Benchmarks: synthetic specs and a harness that measures flowgen against its floor."""
