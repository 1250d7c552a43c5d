"""tqdm progress bars that stay silent when output is not a terminal or the user asked for quiet."""

import sys
from contextlib import contextmanager

from tqdm import tqdm


@contextmanager
def progress(total, unit, enabled=True):
    disable = not enabled or not sys.stderr.isatty()
    with tqdm(total=total, unit=unit, disable=disable, dynamic_ncols=True, leave=False) as bar:
        yield bar
