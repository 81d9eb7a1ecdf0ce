"""The names the installers import from ``envsync.index.proxy``, where they used to live.

The routes are in ``routes``, pip's access to the indexes in ``pipaccess`` and the routing
proxy in ``routingproxy``. install/pip.py and install/native.py still import them from here;
once they import them from those modules, this one goes.
"""

from __future__ import annotations

from envsync.index.pipaccess import PipAccess, pip_access
from envsync.index.routes import Routes, routes

__all__ = ["PipAccess", "Routes", "pip_access", "routes"]
