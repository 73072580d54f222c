"""The kernkit core: the plugin contract, configuration, the kernel object and its generic services.

Nothing in this package knows about a particular architecture, device or scheduling policy.
"""

#: kernkit's version (the package's, from pyproject.toml's dynamic version).
__version__ = "0.1.0"
