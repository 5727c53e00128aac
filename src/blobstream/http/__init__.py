"""Pure HTTP helpers: parse request headers, then let the caller decide.

Nothing here imports Flask or Werkzeug; every function takes plain strings and
numbers (RFC 9110, RFC 9530, RFC 9457, RFC 6266) so it can be tested by tables.
"""
