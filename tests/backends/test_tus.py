"""tus on PostgreSQL and on S3 with real clients: tuspy in 5 MiB and in 1 MiB chunks (on S3
the latter keeps an incomplete-part object between PATCHes), interrupted and resumed, and
tus-js-client with ``parallelUploads: 3`` (concatenation)."""

from __future__ import annotations

import uuid
from pathlib import Path

from tusclient.client import TusClient

from tests.backends.conftest import Backend
from tests.tus.conftest import MIB, Payload
from tests.tus.test_clients import check_blob, run_node
from tests.tus.tusraw import head

METADATA = {"filename": "payload.bin", "filetype": "application/x-blobstream-test"}


def test_tuspy_in_5_mib_chunks_with_checksums(backend: Backend, payload40: Payload) -> None:
    key = f"tuspy5/{uuid.uuid4().hex}"
    with payload40.path.open("rb") as stream:
        uploader = TusClient(backend.server.url + "/uploads").uploader(
            file_stream=stream,
            chunk_size=5 * MIB,
            metadata={"key": key, **METADATA},
            upload_checksum=True,
        )
        uploader.upload()
    check_blob(backend.server, key, payload40)
    assert backend.leftovers() == []


def test_tuspy_in_1_mib_chunks_interrupted_and_resumed(
    backend: Backend, payload40: Payload
) -> None:
    key = f"tuspy1/{uuid.uuid4().hex}"
    with payload40.path.open("rb") as stream:
        first = TusClient(backend.server.url + "/uploads").uploader(
            file_stream=stream, chunk_size=MIB, metadata={"key": key, **METADATA}
        )
        first.upload(stop_at=17 * MIB + 4096)
        url = first.url
    assert url is not None
    stopped = int(head(url).headers["Upload-Offset"])
    assert 17 * MIB <= stopped < 19 * MIB
    # a new client process: only the upload URL survives
    with payload40.path.open("rb") as stream:
        resumed = TusClient(backend.server.url + "/uploads").uploader(
            file_stream=stream, url=url, chunk_size=MIB
        )
        assert resumed.offset == stopped
        resumed.upload()
    assert int(head(url).headers["Upload-Offset"]) == payload40.size
    check_blob(backend.server, key, payload40)


def test_tus_js_client_parallel_uploads(
    backend: Backend, payload40: Payload, tus_js: Path, tmp_path: Path
) -> None:
    key = f"js-parallel/{uuid.uuid4().hex}"
    endpoint = backend.server.url + "/uploads"
    events = run_node(tus_js, endpoint, payload40, key, 3, tmp_path / "urls.json")
    assert events[-1]["event"] == "success"
    check_blob(backend.server, key, payload40)
    assert backend.leftovers() == []
