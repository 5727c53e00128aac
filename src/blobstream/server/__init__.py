"""The HTTP server: the Flask extension, its blueprints, the lean WSGI path and the launcher."""
