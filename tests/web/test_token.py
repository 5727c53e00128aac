"""The page on a server that needs bearer tokens: it asks, keeps the token per tab, uses it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.support import Server
from tests.web.conftest import Console, Shots

WRITER = "writer-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("web-token")
    env = {"BLOBSTREAM_TOKENS": f"{WRITER}=write"}
    with Server((root / "data").as_uri(), root / "server.log", env=env) as srv:
        yield srv


def test_page_asks_for_a_token_and_uses_it_for_listing_upload_and_download(
    page: Page, token_server: Server, console: Console, shots: Shots, tmp_path: Path
) -> None:
    auth = {"Authorization": f"Bearer {WRITER}"}
    folder = f"tok-{uuid.uuid4().hex[:8]}/"
    with requests.put(
        f"{token_server.url}/blobs/{folder}existing.txt", data=b"hi", headers=auth, timeout=10
    ) as r:
        assert r.status_code == 201, r.text

    page.goto(f"{token_server.url}/#prefix={folder}")
    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible()
    shots(page, "asked")
    dialog.get_by_label("Token").fill("wrong-token")
    dialog.get_by_role("button", name="Use token").click()
    expect(dialog).to_contain_text("refused")
    dialog.get_by_label("Token").fill(WRITER)
    dialog.get_by_label("Token").press("Enter")
    expect(page.get_by_role("button", name="existing.txt", exact=True)).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('blobstream.token')") == WRITER
    expect(page.get_by_role("button", name="Forget token")).to_be_visible()

    source = tmp_path / "upload.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024))
    page.locator("#file-input").set_input_files(source)
    expect(page.locator("#uploads .upload-status")).to_have_text("Done", timeout=60_000)
    shots(page, "uploaded")
    with requests.get(
        f"{token_server.url}/blobs/{folder}upload.bin", headers=auth, timeout=30
    ) as r:
        assert r.content == source.read_bytes()

    page.wait_for_function("navigator.serviceWorker.controller !== null")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download upload.bin").click()
    saved = tmp_path / "saved.bin"
    info.value.save_as(saved)
    assert saved.read_bytes() == source.read_bytes()

    assert console.page_errors == []
    # Chromium reports each 401 the page received before it had the right token.
    assert [e for e in console.errors if "401" not in e] == []
