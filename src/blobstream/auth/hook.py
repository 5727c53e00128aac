"""The Flask hooks: authenticate, authorize, answer CORS preflights, apply the limits.

Registered on the app by :func:`install`, they guard only blobstream's own
blueprints, so routes of an app that mounts the extension are left alone.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request, url_for

from blobstream.auth import cors, policy, presign
from blobstream.auth import openapi as auth_openapi
from blobstream.auth.config import AuthConfig
from blobstream.auth.limits import TimedInput, UploadSlots
from blobstream.auth.tokens import Principal, Role
from blobstream.errors import Forbidden, Unauthorized
from blobstream.http.problem import PROBLEM_JSON, problem

AUTH_KEY = "blobstream.auth"
ANONYMOUS = Principal(name="anonymous", role=Role.ADMIN)
PRESIGNED = "presigned"
_CHALLENGE = 'Bearer realm="blobstream"'
# WebDAV clients (file managers, davfs2, rclone) know Basic: the token is the password.
_BASIC_CHALLENGE = 'Basic realm="blobstream", charset="UTF-8"'


class AuthState:
    def __init__(self, config: AuthConfig) -> None:
        self.config = config
        self.slots = UploadSlots(config.max_uploads_per_token)


def auth_state(app: Flask | None = None) -> AuthState:
    state: AuthState = (app or current_app).extensions[AUTH_KEY]
    return state


def install(app: Flask, config: dict[str, Any]) -> None:
    """Parse the settings (``ValueError`` when bad) and register the hooks on ``app``."""
    app.extensions[AUTH_KEY] = AuthState(AuthConfig.from_mapping(config))
    from blobstream.server.openapi import SPEC

    auth_openapi.describe(SPEC)
    app.before_request(_before)
    app.after_request(_after)
    app.teardown_request(_teardown)


def _ours() -> bool:
    """Whether the matched route belongs to one of blobstream's blueprints."""
    name = request.blueprint
    if name is None:
        return request.url_rule is None  # unmatched: answered as problem+json by us
    blueprint = current_app.blueprints.get(name.split(".", 1)[0])
    return blueprint is not None and blueprint.import_name.startswith("blobstream")


def _unauthorized(detail: str, error: str | None = None) -> Unauthorized:
    err = Unauthorized(detail)
    if request.blueprint == "dav":
        challenge = _BASIC_CHALLENGE
    else:
        challenge = _CHALLENGE + (f', error="{error}"' if error else "")
    err.headers = {"WWW-Authenticate": challenge}
    return err


def _bearer() -> str | None:
    """The token of ``Authorization: Bearer <token>`` (RFC 6750 §2.1) or the password of
    ``Basic`` credentials, None when absent."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() == "basic":
        return _basic_password(token.strip())
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("the Authorization header must be 'Bearer <token>'", "invalid_request")
    return token.strip()


def _basic_password(credentials: str) -> str:
    """The password of ``Authorization: Basic`` (RFC 7617 §2), taken as the token."""
    import base64
    import binascii

    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthorized("the Basic credentials are not base64 of user:token") from None
    _user, colon, password = decoded.partition(":")
    if not colon or not password:
        raise _unauthorized("send the token as the Basic password (any user name)")
    return password


def _authenticate(config: AuthConfig) -> Principal:
    token = _bearer()
    if token is None:
        if config.anonymous:
            return ANONYMOUS
        raise _unauthorized("this request needs a token: send 'Authorization: Bearer <token>'")
    if config.anonymous:
        return ANONYMOUS
    principal = config.tokens.authenticate(token)
    if principal is None:
        raise _unauthorized("the token is not known to this server", "invalid_token")
    return principal


def _presigned(config: AuthConfig) -> Principal:
    key = (request.view_args or {}).get("key")
    if not isinstance(key, str):
        raise Forbidden("a presigned URL is valid only for /blobs/{key}")
    presign.verify_presigned(request.method, key, request.args, config.secret)
    return Principal(name=PRESIGNED, role=Role.READ)


def _preflight(config: AuthConfig) -> Response:
    origin = request.headers.get("Origin", "")
    headers = config.cors.preflight_headers(
        origin, request.headers.get("Access-Control-Request-Headers")
    )
    if headers is None:
        body = problem(403, "Forbidden", "this origin may not call this server", "about:blank")
        response = jsonify(body)
        response.status_code = 403
        response.content_type = PROBLEM_JSON
        response.vary.add("Origin")
        return response
    return Response(status=204, headers=headers)


def _before() -> Response | None:
    if not _ours():
        return None
    config = auth_state().config
    if cors.is_preflight(
        request.method,
        request.headers.get("Origin"),
        request.headers.get("Access-Control-Request-Method"),
    ):
        return _preflight(config)
    rule = request.url_rule.rule if request.url_rule is not None else None
    needed = policy.required_role(
        request.endpoint, rule, request.method, protect_metrics=config.protect_metrics
    )
    if needed is None:
        return None
    if presign.is_presigned(request.args) and "Authorization" not in request.headers:
        principal = _presigned(config)
    else:
        principal = _authenticate(config)
        if principal.role < needed:
            raise Forbidden(
                f"this token has the {principal.role.label} role; "
                f"{request.method} here needs {needed.label}"
            )
    g.blobstream_principal = principal
    _apply_limits(config, principal)
    return None


def _apply_limits(config: AuthConfig, principal: Principal) -> None:
    if not policy.is_upload(request.method):
        return
    if principal.token_id is not None and config.max_uploads_per_token > 0:
        auth_state().slots.acquire(principal.name)
        g.blobstream_upload_slot = principal.name
    sock = request.environ.get("gunicorn.socket")
    if sock is not None and config.body_timeout > 0:
        request.environ["wsgi.input"] = TimedInput(
            request.environ["wsgi.input"], sock, config.body_timeout
        )


def _after(response: Response) -> Response:
    if not _ours():
        return response
    policy_ = auth_state().config.cors
    if not policy_.origins:
        return response
    response.vary.add("Origin")
    credentials = "Authorization" in request.headers
    for name, value in policy_.response_headers(request.headers.get("Origin"), credentials):
        response.headers.setdefault(name, value)
    return response


def allowed_origin(origin: str | None, preflight: bool) -> str | None:
    """``Access-Control-Allow-Origin`` for ``origin`` under the app's CORS policy, or None.

    For other blueprints' own CORS code (tus): credentials are involved when a
    request carries ``Authorization`` or a preflight asks to send it.
    """
    state = current_app.extensions.get(AUTH_KEY)
    if state is None:
        return None
    if preflight:
        requested = request.headers.get("Access-Control-Request-Headers", "").lower()
        credentials = "authorization" in requested
    else:
        credentials = "Authorization" in request.headers
    allowed: str | None = state.config.cors.allow_origin(origin, credentials)
    return allowed


def _teardown(_exc: BaseException | None) -> None:
    name = g.pop("blobstream_upload_slot", None)
    if name is not None:
        auth_state().slots.release(name)


def presigned_url_for(key: str, method: str = "GET", expires_in: int = 3600) -> str:
    """A presigned URL for ``key`` on the current app (in a request or app context).

    Signed with the app's ``BLOBSTREAM_SECRET``; ``ValueError`` when there is none.
    """
    secret = auth_state().config.secret
    if not secret:
        raise ValueError("presigning needs BLOBSTREAM_SECRET in the app's configuration")
    blob_url = url_for("blobs.blob", key="-", _external=True)
    base = blob_url[: -len("/blobs/-")]
    return presign.presign_url(base, key, method, expires_in, secret)
