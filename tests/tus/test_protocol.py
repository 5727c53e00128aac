"""tus 1.0 over raw HTTP: every status code the protocol names, and malformed headers."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import uuid
from pathlib import Path

import requests

from tests.support import Server
from tests.tus.tusraw import CHUNK, TUS, blob, checksum, create, head, metadata, new_upload, patch


def key() -> str:
    return f"tus/{uuid.uuid4().hex}"


def test_options_advertises_exactly_what_is_implemented(server: Server) -> None:
    r = requests.options(server.url + "/uploads", timeout=10)
    r.close()
    assert r.status_code == 204
    assert r.headers["Tus-Version"] == "1.0.0"
    assert r.headers["Tus-Resumable"] == "1.0.0"
    assert set(r.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "termination",
        "concatenation",
        "checksum",
        "expiration",
    }
    assert r.headers["Tus-Checksum-Algorithm"].split(",") == ["sha1", "sha256", "md5"]
    assert "Tus-Max-Size" not in r.headers  # the shared server has no limit


def test_upload_in_chunks_becomes_the_blob_with_sha256(server: Server) -> None:
    name, data = key(), os.urandom(300_000)
    r = create(
        server.url,
        len(data),
        **{"Upload-Metadata": metadata(key=name, filetype="text/csv", filename="a.csv")},
    )
    assert r.status_code == 201
    assert r.headers["Blobstream-Key"] == name
    assert "Upload-Expires" in r.headers
    url = r.headers["Location"]
    assert url.startswith(server.url + "/uploads/")
    offset = 0
    for piece in (data[:100_000], data[100_000:250_000], data[250_000:]):
        r = patch(url, offset, piece)
        assert r.status_code == 204, r.text
        offset += len(piece)
        assert r.headers["Upload-Offset"] == str(offset)
    got = blob(server.url, name)
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["Content-Type"] == "text/csv"
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert got.headers["Repr-Digest"] == f"sha-256=:{digest}:"
    h = head(url)
    assert h.status_code == 200
    assert h.headers["Upload-Offset"] == h.headers["Upload-Length"] == str(len(data))
    assert h.headers["Cache-Control"] == "no-store"
    assert "filename YS5jc3Y=" in h.headers["Upload-Metadata"]


def test_head_reports_state_and_no_key_gets_one_chosen(server: Server) -> None:
    r = create(server.url, None, **{"Upload-Defer-Length": "1"})
    assert r.status_code == 201
    chosen = r.headers["Blobstream-Key"]
    url = r.headers["Location"]
    h = head(url)
    assert h.status_code == 200
    assert h.headers["Upload-Offset"] == "0"
    assert h.headers["Upload-Defer-Length"] == "1"
    assert "Upload-Length" not in h.headers
    assert h.headers["Blobstream-Key"] == chosen
    assert h.headers["Cache-Control"] == "no-store"
    # the length arrives with the last PATCH (creation-defer-length)
    assert patch(url, 0, b"abc").status_code == 204
    r = patch(url, 3, b"de", **{"Upload-Length": "5"})
    assert r.status_code == 204
    assert blob(server.url, chosen).content == b"abcde"


def test_creation_with_upload_and_zero_length(server: Server) -> None:
    name = key()
    r = requests.post(
        server.url + "/uploads",
        headers={**CHUNK, "Upload-Length": "5", "Upload-Metadata": metadata(key=name)},
        data=b"hello",
        timeout=10,
    )
    r.close()
    assert r.status_code == 201
    assert r.headers["Upload-Offset"] == "5"
    assert blob(server.url, name).content == b"hello"
    empty = key()
    assert create(server.url, 0, **{"Upload-Metadata": metadata(key=empty)}).status_code == 201
    got = blob(server.url, empty)
    assert got.status_code == 200 and got.content == b""


def test_wrong_offset_is_409_and_unknown_upload_404(server: Server) -> None:
    url = new_upload(server.url, 10)
    assert patch(url, 0, b"12345").status_code == 204
    r = patch(url, 0, b"12345")
    assert r.status_code == 409
    assert r.headers["Content-Type"] == "application/problem+json"
    assert patch(url, 7, b"123").status_code == 409
    assert head(url).headers["Upload-Offset"] == "5"
    missing = server.url + "/uploads/" + uuid.uuid4().hex
    assert head(missing).status_code == 404
    assert patch(missing, 0, b"x").status_code == 404
    assert head(server.url + "/uploads/not-an-id").status_code == 404


def test_missing_or_wrong_tus_resumable_is_412_with_tus_version(server: Server) -> None:
    url = new_upload(server.url, 10)
    for headers in ({}, {"Tus-Resumable": "0.2.2"}):
        r = requests.head(url, headers=headers, timeout=10)
        r.close()
        assert r.status_code == 412
        assert r.headers["Tus-Version"] == "1.0.0"
        r = requests.post(server.url + "/uploads", headers={**headers, "Upload-Length": "1"},
                          timeout=10)  # fmt: skip
        r.close()
        assert r.status_code == 412
        assert r.headers["Content-Type"] == "application/problem+json"


def test_malformed_creation_headers_are_400(server: Server) -> None:
    cases: list[dict[str, str]] = [
        {"Upload-Length": "-1"},
        {"Upload-Length": "ten"},
        {"Upload-Length": "1.5"},
        {"Upload-Length": "99999999999999999999999"},
        {},  # neither length nor deferral
        {"Upload-Length": "5", "Upload-Defer-Length": "1"},
        {"Upload-Defer-Length": "2"},
        {"Upload-Length": "5", "Upload-Metadata": "key !!notbase64"},
        {"Upload-Length": "5", "Upload-Metadata": "key YQ==,key Yg=="},
        {"Upload-Length": "5", "Upload-Metadata": metadata(key="../escape")},
        {"Upload-Length": "5", "Upload-Metadata": metadata(key="a", filetype="not a type")},
        {"Upload-Length": "5", "Upload-Concat": "whole"},
        {"Upload-Concat": "final;/uploads/" + uuid.uuid4().hex},
        {"Upload-Concat": "final;/elsewhere/abc"},
    ]
    for headers in cases:
        r = create(server.url, None, **headers)
        assert r.status_code == 400, (headers, r.status_code, r.text)
        assert r.headers["Content-Type"] == "application/problem+json"


def test_malformed_patch_headers(server: Server) -> None:
    url = new_upload(server.url, 10)
    for offset in ("-1", "abc", "", "1e2", "99999999999999999999999"):
        assert patch(url, offset, b"x").status_code == 400, offset
    r = requests.patch(url, headers={**CHUNK}, data=b"x", timeout=10)  # no Upload-Offset
    r.close()
    assert r.status_code == 400
    r = requests.patch(
        url,
        headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/octet-stream"},
        data=b"x",
        timeout=10,
    )
    r.close()
    assert r.status_code == 415
    assert patch(url, 0, b"x", **{"Upload-Checksum": "crc32 AAAAAA=="}).status_code == 400
    assert patch(url, 0, b"x", **{"Upload-Checksum": "sha1 !!"}).status_code == 400
    assert patch(url, 0, b"x", **{"Upload-Length": "12"}).status_code == 400  # cannot change
    assert head(url).headers["Upload-Offset"] == "0"


def test_patch_longer_than_upload_length_is_413_and_stores_nothing(server: Server) -> None:
    url = new_upload(server.url, 10)
    assert patch(url, 0, b"0123").status_code == 204
    assert patch(url, 4, b"x" * 7).status_code == 413
    # chunked: the excess is only seen while reading
    r = requests.patch(
        url, headers={**CHUNK, "Upload-Offset": "4"}, data=iter([b"abc", b"defgh"]), timeout=10
    )
    r.close()
    assert r.status_code == 413
    assert head(url).headers["Upload-Offset"] == "4"
    assert patch(url, 4, b"456789").status_code == 204


def test_checksum_mismatch_is_460_and_offset_unchanged(server: Server) -> None:
    name = key()
    url = new_upload(server.url, 8, key=name)
    for algorithm in ("sha1", "sha256", "md5"):
        r = patch(url, 0, b"abcd", **{"Upload-Checksum": checksum(algorithm, b"abce")})
        assert r.status_code == 460
        assert r.reason == "Checksum Mismatch"
        assert head(url).headers["Upload-Offset"] == "0"
    assert (
        patch(url, 0, b"abcd", **{"Upload-Checksum": checksum("md5", b"abcd")}).status_code == 204
    )
    r = patch(url, 4, b"efgh", **{"Upload-Checksum": checksum("sha256", b"efgh")})
    assert r.status_code == 204
    assert blob(server.url, name).content == b"abcdefgh"


def test_termination_and_method_override(server: Server) -> None:
    url = new_upload(server.url, 10)
    r = requests.post(url, headers={**CHUNK, "X-HTTP-Method-Override": "PATCH",
                                    "Upload-Offset": "0"}, data=b"12", timeout=10)  # fmt: skip
    r.close()
    assert r.status_code == 204 and r.headers["Upload-Offset"] == "2"
    r = requests.post(url, headers={**TUS, "X-HTTP-Method-Override": "DELETE"}, timeout=10)
    r.close()
    assert r.status_code == 204
    assert head(url).status_code == 404
    url = new_upload(server.url, 10)
    r = requests.delete(url, headers=TUS, timeout=10)
    r.close()
    assert r.status_code == 204
    assert patch(url, 0, b"x").status_code == 404
    r = requests.post(url, headers=TUS, timeout=10)  # POST without override
    r.close()
    assert r.status_code == 405


def test_final_upload_is_403_for_patch(server: Server) -> None:
    parts = []
    for piece in (b"first-", b"second"):
        url = new_upload(server.url, len(piece), **{"Upload-Concat": "partial"})
        assert head(url).headers["Upload-Concat"] == "partial"
        assert patch(url, 0, piece).status_code == 204
        parts.append(url)
    unfinished = new_upload(server.url, 5, **{"Upload-Concat": "partial"})
    r = create(server.url, None, **{"Upload-Concat": f"final;{parts[0]} {unfinished}"})
    assert r.status_code == 400
    name = key()
    r = create(server.url, None, **{"Upload-Concat": "final;" + " ".join(parts),
                                     "Upload-Metadata": metadata(key=name)})  # fmt: skip
    assert r.status_code == 201, r.text
    final = r.headers["Location"]
    assert blob(server.url, name).content == b"first-second"
    h = head(final)
    assert h.headers["Upload-Concat"].startswith("final;")
    assert h.headers["Upload-Length"] == "12"
    assert patch(final, 12, b"x").status_code == 403


def test_racing_patches_get_409_or_423_never_corruption(server: Server) -> None:
    size = 64 << 20
    name = key()
    url = new_upload(server.url, size, key=name)
    data = os.urandom(1 << 20) * 64
    statuses: list[int] = []

    def send() -> None:
        statuses.append(patch(url, 0, data).status_code)

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses)[0] == 204 and statuses.count(204) == 1, statuses
    assert all(s in (204, 409, 423) for s in statuses), statuses
    got = blob(server.url, name)
    assert hashlib.sha256(got.content).digest() == hashlib.sha256(data).digest()


def test_cors_preflight_and_exposed_headers(tmp_path: Path) -> None:
    origin = "http://app.example"
    env = {"BLOBSTREAM_CORS_ORIGINS": origin}
    with Server((tmp_path / "data").as_uri(), tmp_path / "server.log", env=env) as server:
        r = requests.options(
            server.url + "/uploads",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "tus-resumable, upload-offset, content-type",
            },
            timeout=10,
        )
        r.close()
        assert r.status_code in (200, 204)
        assert r.headers["Access-Control-Allow-Origin"] in (origin, "*")
        assert "PATCH" in r.headers["Access-Control-Allow-Methods"]
        allowed = r.headers["Access-Control-Allow-Headers"].lower()
        for name in ("tus-resumable", "upload-length", "upload-metadata", "upload-offset"):
            assert name in allowed
        created = create(server.url, 3, Origin=origin)
        assert created.headers["Access-Control-Allow-Origin"] in (origin, "*")
        exposed = created.headers["Access-Control-Expose-Headers"]
        for name in ("Location", "Upload-Offset", "Tus-Resumable", "Upload-Expires"):
            assert name in exposed


def test_openapi_describes_uploads(server: Server) -> None:
    r = requests.get(server.url + "/openapi.json", timeout=10)
    r.close()
    paths = r.json()["paths"]
    assert "patch" in paths["/uploads/{upload_id}"]
    assert "post" in paths["/uploads"]
