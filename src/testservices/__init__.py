"""testservices: real servers for integration tests, with or without Docker.

`ServiceManager.ensure(["redis"])` gives endpoints (the variables a client needs); the pytest plugin and
the nox sessions are thin layers over it.
"""

from testservices.errors import HarnessError, ServiceStartError
from testservices.manager import ServiceManager
from testservices.settings import Settings, SuiteKnobs
from testservices.specs import SPECS, ServiceSpec
from testservices.state import Endpoint

__all__ = [
    "SPECS",
    "Endpoint",
    "HarnessError",
    "ServiceManager",
    "ServiceSpec",
    "ServiceStartError",
    "Settings",
    "SuiteKnobs",
]
