"""What a helper process (a figure-drawing worker) runs first; light on purpose: it imports nothing heavy."""

import signal


def ignore_interrupts() -> None:
    """In a helper process: Ctrl-C is the build's to handle (it stops the pool), not each worker's."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
