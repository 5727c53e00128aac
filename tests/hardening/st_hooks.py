"""schemathesis hooks (``SCHEMATHESIS_HOOKS``): send tus PATCH bodies as raw bytes."""

import schemathesis
from schemathesis.transport.requests import binary_serializer

schemathesis.serializer("application/offset+octet-stream")(binary_serializer)
