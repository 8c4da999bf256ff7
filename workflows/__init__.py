"""Temporal workflows: orchestration, timers, updates and compensation. Nothing else."""
