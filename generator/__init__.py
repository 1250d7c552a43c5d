"""xai-report: a static report-site generator that explains what image classifiers look at."""

__version__ = "0.1.0"
