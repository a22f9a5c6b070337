"""An emulator of the three provider APIs: a real HTTP server on loopback.

The tests run the tap against it, and ``tap-jobsources-sandbox`` lets anyone try
the tap without credentials. It follows the providers' documentation, serves
deterministic synthetic data at a chosen size, and can inject faults.
"""

from jobsources_sandbox.server import Sandbox

__all__ = ["Sandbox"]
