"""Session fixtures shared by several test modules.

Registered here once: a session fixture imported into two modules would be two fixtures, built twice
(the offline example's site) or started twice (Playwright refuses a second sync instance in one process).
A fixture only runs when a test asks for it, so modules that need no browser pay nothing.
"""

from browser_site import browser, built_site, served_site  # noqa: F401
