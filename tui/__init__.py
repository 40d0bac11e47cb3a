"""netsim's terminal interface: the Textual app, the headless trace and the `netsim` command."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("netsim")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
