"""tus-js-client for the IETF tests: the same installation the tus tests use."""

from tests.tus.conftest import tus_js

__all__ = ["tus_js"]
