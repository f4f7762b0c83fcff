"""Batch mode: many tasks, each in its own sandbox, in parallel, resumable.
See docs/batch.md."""

from agent.batch.main import batch_main

__all__ = ["batch_main"]
