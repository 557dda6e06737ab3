"""nncheck: audit a neural-network training setup before anyone trains it.

Kept import-light on purpose (numpy, pandas, matplotlib, torch load lazily) so that the
CLI starts fast; a test keeps `import nncheck` under 0.3 s.
"""

__version__ = "0.1.0"
