"""Table tests for RFC 9457 problem details."""

from __future__ import annotations

import json

import pytest

from blobstream import errors
from blobstream.http.problem import PROBLEM_JSON, problem, problem_from_error


def test_media_type() -> None:
    assert PROBLEM_JSON == "application/problem+json"


@pytest.mark.parametrize(
    ("args", "extra", "expected"),
    [
        (
            (404, "Not found", "no blob 'a'"),
            {},
            {"type": "about:blank", "title": "Not found", "status": 404, "detail": "no blob 'a'"},
        ),
        (
            (400, "Bad", "x", "https://example.com/p"),
            {},
            {"type": "https://example.com/p", "title": "Bad", "status": 400, "detail": "x"},
        ),
        (
            (413, "Too large", "limit is 10"),
            {"instance": "/blobs/a", "limit": 10},
            {
                "type": "about:blank",
                "title": "Too large",
                "status": 413,
                "detail": "limit is 10",
                "instance": "/blobs/a",
                "limit": 10,
            },
        ),
        (
            (400, "Bad", 'quote " and \u00e9 and \n'),
            {},
            {
                "type": "about:blank",
                "title": "Bad",
                "status": 400,
                "detail": 'quote " and é and \n',
            },
        ),
        ((400, "Bad", "x"), {"type": "other"}, ValueError),
        ((400, "Bad", "x"), {"status": 500}, TypeError),  # a named parameter already
        ((400, "Bad", "x"), {"title": "t"}, TypeError),
        ((400, "Bad", "x"), {"detail": "d"}, TypeError),
    ],
)
def test_problem(args: tuple[object, ...], extra: dict[str, object], expected: object) -> None:
    status, title, detail, *rest = args
    assert isinstance(status, int) and isinstance(title, str) and isinstance(detail, str)
    type_uri = str(rest[0]) if rest else "about:blank"
    if isinstance(expected, type):
        with pytest.raises(expected):
            problem(status, title, detail, type_uri, **extra)
    else:
        body = problem(status, title, detail, type_uri, **extra)
        assert body == expected
        assert json.loads(json.dumps(body)) == expected


ERROR_CLASSES = sorted(
    (
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type)
        and issubclass(cls, errors.BlobstreamError)
        and cls is not errors.RangeNotSatisfiable
    ),
    key=lambda cls: cls.__name__,
)


@pytest.mark.parametrize(
    "err",
    [cls() for cls in ERROR_CLASSES]
    + [cls("specific detail") for cls in ERROR_CLASSES]
    + [errors.RangeNotSatisfiable(10), errors.RangeNotSatisfiable(0, "custom")],
    ids=lambda err: f"{type(err).__name__}:{err.detail}",
)
def test_problem_from_error(err: errors.BlobstreamError) -> None:
    body = problem_from_error(err)
    assert body == {
        "type": errors.PROBLEM_BASE + err.slug,
        "title": err.title,
        "status": err.status,
        "detail": err.detail,
    }
    assert 400 <= err.status <= 599
    json.dumps(body)
