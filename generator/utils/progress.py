"""tqdm progress bars that stay silent when output is not a terminal or the user asked for quiet."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from tqdm import tqdm


@contextmanager
def progress(total: int, unit: str, enabled: bool = True) -> Iterator[tqdm[NoReturn]]:
    disable = not enabled or not sys.stderr.isatty()
    with tqdm(total=total, unit=unit, disable=disable, dynamic_ncols=True, leave=False) as bar:
        yield bar
