"""The version of xai-report: its one source (pyproject.toml reads it; `generator.__version__` re-exports it)."""

__version__ = "0.1.0"
