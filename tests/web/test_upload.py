"""Uploading through the page with tus: progress, download back, delete, and resumption."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from urllib.parse import quote

import requests
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Request, Route, expect

from tests.support import Server
from tests.web.conftest import Console, Shots

MIB = 1024 * 1024


def random_file(tmp_path: Path, name: str, size: int) -> Path:
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


def open_folder(page: Page, server: Server, folder: str) -> None:
    page.goto(f"{server.url}/#prefix={quote(folder, safe='')}")
    expect(page.locator("#blobs")).not_to_have_attribute("aria-busy", "true")


def stored(server: Server, key: str) -> bytes:
    with requests.get(f"{server.url}/blobs/{quote(key)}", timeout=30) as r:
        assert r.status_code == 200, r.text
        return r.content


class TusTraffic:
    """The tus requests the page sent: creations and the offsets of its PATCHes."""

    def __init__(self, page: Page) -> None:
        self.creations = 0
        self.offsets: list[int] = []
        page.on("request", self.seen)

    def seen(self, request: Request) -> None:
        if "/uploads" not in request.url:
            return
        if request.method == "POST":
            self.creations += 1
        elif request.method == "PATCH":
            self.offsets.append(int(request.headers["upload-offset"]))


def small_chunks(page: Page) -> None:
    """1 MiB per PATCH, so a test can break the connection in the middle of a file."""
    page.add_init_script(f"localStorage.setItem('blobstream.chunkSize', '{MIB}')")


def test_upload_list_download_and_delete(
    page: Page, web_server: Server, console: Console, shots: Shots, tmp_path: Path
) -> None:
    folder = f"up-{uuid.uuid4().hex[:8]}/"
    source = random_file(tmp_path, "video.bin", 6 * MIB + 123)
    other = random_file(tmp_path, "notes.txt", 1000)
    open_folder(page, web_server, folder)
    shots(page, "empty")

    page.locator("#file-input").set_input_files([source, other])
    uploads = page.locator("#uploads .upload")
    expect(uploads).to_have_count(2)
    expect(uploads.locator(".upload-status")).to_have_text(["Done", "Done"], timeout=60_000)
    expect(
        page.locator(f'#uploads .upload[data-key="{folder}video.bin"] progress')
    ).to_have_attribute("value", str(source.stat().st_size))
    row = page.locator(f'#rows tr[data-key="{folder}video.bin"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("6.0 MiB")
    shots(page, "uploaded")
    assert stored(web_server, folder + "video.bin") == source.read_bytes()

    with page.expect_download() as download_info:
        row.get_by_role("link", name="Download video.bin").click()
    download = download_info.value
    assert download.suggested_filename == "video.bin"
    saved = tmp_path / "downloaded.bin"
    download.save_as(saved)
    assert saved.read_bytes() == source.read_bytes()

    row.get_by_role("button", name="Delete video.bin").click()
    page.locator("#confirm-delete").get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    shots(page, "deleted")
    with requests.head(f"{web_server.url}/blobs/{folder}video.bin", timeout=10) as r:
        assert r.status_code == 404
    assert console.unexpected() == []


def test_broken_connection_resumes_from_the_server_offset(
    page: Page, web_server: Server, console: Console, shots: Shots, tmp_path: Path
) -> None:
    folder = f"retry-{uuid.uuid4().hex[:8]}/"
    source = random_file(tmp_path, "big.bin", 5 * MIB)
    small_chunks(page)
    traffic = TusTraffic(page)
    patches = 0

    def break_third_patch(route: Route) -> None:
        nonlocal patches
        if route.request.method == "PATCH":
            patches += 1
            if patches == 3:
                route.abort("connectionreset")
                return
        route.continue_()

    page.route("**/uploads/**", break_third_patch)
    open_folder(page, web_server, folder)
    page.locator("#file-input").set_input_files(source)
    expect(page.locator("#uploads .upload-status")).to_have_text("Done", timeout=60_000)
    shots(page, "done-after-retry")

    assert traffic.creations == 1
    assert traffic.offsets[:4] == [0, MIB, 2 * MIB, 2 * MIB], traffic.offsets
    assert stored(web_server, folder + "big.bin") == source.read_bytes()
    # The one reset request is reported by Chromium; nothing else may be.
    assert console.page_errors == []
    assert [e for e in console.errors if "ERR_CONNECTION_RESET" not in e] == []


def test_pause_then_reload_then_resume_with_the_same_file(
    page: Page, web_server: Server, console: Console, shots: Shots, tmp_path: Path
) -> None:
    folder = f"reload-{uuid.uuid4().hex[:8]}/"
    source = random_file(tmp_path, "archive.tar", 4 * MIB)
    small_chunks(page)
    traffic = TusTraffic(page)
    patches = 0

    def go_offline_after_two_patches(route: Route) -> None:
        nonlocal patches
        if route.request.method == "PATCH":
            patches += 1
            if patches > 2:
                route.abort("internetdisconnected")
                return
        route.continue_()

    page.route("**/uploads/**", go_offline_after_two_patches)
    open_folder(page, web_server, folder)
    page.locator("#file-input").set_input_files(source)
    item = page.locator("#uploads .upload")
    expect(item.locator(".upload-status")).to_contain_text("retrying", timeout=30_000)
    shots(page, "connection-lost")
    item.get_by_role("button", name="Pause").click()
    expect(item.locator(".upload-status")).to_have_text("Paused")
    expect(item.locator("progress")).to_have_attribute("value", str(2 * MIB))
    shots(page, "paused")

    page.unroute("**/uploads/**")
    page.reload()
    resumable = page.locator("#resumable")
    expect(resumable).to_contain_text(folder + "archive.tar")
    shots(page, "after-reload")

    offsets_before = len(traffic.offsets)
    page.locator("#file-input").set_input_files(source)
    expect(page.locator("#uploads .upload-status")).to_have_text("Done", timeout=60_000)
    expect(resumable).to_be_hidden()
    shots(page, "resumed")

    assert traffic.creations == 1, "the reload started a new upload instead of resuming"
    assert traffic.offsets[offsets_before] == 2 * MIB, traffic.offsets
    assert stored(web_server, folder + "archive.tar") == source.read_bytes()
    assert console.page_errors == []
    assert [e for e in console.errors if "ERR_INTERNET_DISCONNECTED" not in e] == []


def test_pause_and_resume_buttons(
    page: Page, web_server: Server, console: Console, tmp_path: Path
) -> None:
    folder = f"pause-{uuid.uuid4().hex[:8]}/"
    source = random_file(tmp_path, "paused.bin", 3 * MIB)
    small_chunks(page)
    held: list[Route] = []

    def hold_second_patch(route: Route) -> None:
        if route.request.method == "PATCH" and route.request.headers["upload-offset"] == str(MIB):
            held.append(route)
            return
        route.continue_()

    page.route("**/uploads/**", hold_second_patch)
    open_folder(page, web_server, folder)
    page.locator("#file-input").set_input_files(source)
    item = page.locator("#uploads .upload")
    expect(item.locator("progress")).to_have_attribute("value", str(MIB), timeout=30_000)
    item.get_by_role("button", name="Pause").click()
    expect(item.locator(".upload-status")).to_have_text("Paused")
    page.unroute("**/uploads/**")
    for route in held:  # the page's abort() already cancelled it
        with contextlib.suppress(PlaywrightError):
            route.abort()
    item.get_by_role("button", name="Resume").focus()
    page.keyboard.press("Enter")
    expect(item.locator(".upload-status")).to_have_text("Done", timeout=60_000)
    assert stored(web_server, folder + "paused.bin") == source.read_bytes()
    assert console.page_errors == []
