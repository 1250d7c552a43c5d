"""Helpers any stage may use, knowing nothing of the pipeline: errors, atomic writes, lock, timings, drawing."""
