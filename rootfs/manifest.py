"""Print the rootfs manifest as JSON: Python version and installed distributions.

Runs inside the rootfs at build time; the server reports the result at /api/info.
"""
import importlib.metadata
import json
import platform

packages = {}
for dist in importlib.metadata.distributions():
    name = dist.metadata["Name"]
    if name:
        packages[name.lower()] = dist.version
print(json.dumps({"python": platform.python_version(),
                  "packages": dict(sorted(packages.items()))}, indent=1))
