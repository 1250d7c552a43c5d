"""Session fixtures shared by several test modules.

Registered here once: a session fixture imported into two modules would be two fixtures, built twice
(the offline example's site) or started twice (Playwright refuses a second sync instance in one process).
A fixture only runs when a test asks for it, so modules that need no browser pay nothing.
"""

import os

import pytest
from browser_site import browser, built_site, served_site  # noqa: F401


@pytest.fixture(autouse=True, scope="session")
def session_result_cache(tmp_path_factory):
    """Commands that name no --cache-dir use this session's own folder, never the checkout's .cache/."""
    folder = tmp_path_factory.mktemp("results-cache")
    previous = os.environ.get("XAI_REPORT_CACHE_DIR")
    os.environ["XAI_REPORT_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("XAI_REPORT_CACHE_DIR", None)
    else:
        os.environ["XAI_REPORT_CACHE_DIR"] = previous
