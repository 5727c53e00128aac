"""Browsing the listing: folders, search, paging, details, delete, escaping, phone screens."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import requests
from playwright.sync_api import Page, expect

from tests.support import Server
from tests.web.conftest import Console, Shots


def put(server: Server, key: str, body: bytes, content_type: str = "text/plain") -> None:
    url = f"{server.url}/blobs/{quote(key)}"
    with requests.put(url, data=body, headers={"Content-Type": content_type}, timeout=10) as r:
        assert r.status_code in (200, 201), r.text


def open_folder(page: Page, server: Server, folder: str) -> None:
    page.goto(f"{server.url}/#prefix={quote(folder, safe='')}")
    expect(page.locator("#blobs")).not_to_have_attribute("aria-busy", "true")


def test_folders_are_derived_from_keys_and_navigable(
    page: Page, web_server: Server, console: Console, shots: Shots
) -> None:
    root = f"browse-{uuid.uuid4().hex[:8]}/"
    for key in ("reports/2024/q1.pdf", "reports/2024/q2.pdf", "reports/summary.txt", "readme.md"):
        put(web_server, root + key, b"x" * 2048)
    open_folder(page, web_server, root)
    rows = page.locator("#rows")
    expect(rows.get_by_role("link", name="reports/")).to_be_visible()
    expect(rows.get_by_role("button", name="readme.md", exact=True)).to_be_visible()
    shots(page, "root")

    rows.get_by_role("link", name="reports/").click()
    expect(rows.get_by_role("link", name="2024/")).to_be_visible()
    expect(rows.get_by_role("button", name="summary.txt", exact=True)).to_be_visible()
    expect(page.locator("#crumbs [aria-current=page]")).to_have_text("reports")
    expect(page.locator("#upload-target")).to_have_text(f"/{root}reports/")
    shots(page, "folder")

    page.locator("#crumbs").get_by_role("link", name=root.rstrip("/")).click()
    expect(rows.get_by_role("button", name="readme.md", exact=True)).to_be_visible()
    assert console.unexpected() == []


def test_search_filters_by_prefix_and_pages_follow_the_cursor(
    page: Page, web_server: Server, console: Console, shots: Shots
) -> None:
    root = f"paging-{uuid.uuid4().hex[:8]}/"
    for i in range(105):
        put(web_server, f"{root}file-{i:03d}.bin", b"")
    put(web_server, f"{root}other.txt", b"")
    open_folder(page, web_server, root)
    rows = page.locator("#rows tr.blob")
    expect(rows).to_have_count(100)
    expect(page.locator("#next")).to_be_enabled()
    page.locator("#next").click()
    expect(rows).to_have_count(6)
    expect(page.locator("#page-info")).to_have_text("Page 2")
    expect(rows.last).to_have_attribute("data-key", f"{root}other.txt")
    shots(page, "page-2")
    page.locator("#prev").click()
    expect(rows).to_have_count(100)

    page.get_by_label("Filter by prefix").fill("file-10")
    expect(rows).to_have_count(5)
    page.get_by_label("Filter by prefix").fill("nothing")
    expect(page.locator("#empty")).to_contain_text("nothing")
    shots(page, "no-match")
    assert console.unexpected() == []


def test_details_show_digest_and_delete_asks_first(
    page: Page, web_server: Server, console: Console, shots: Shots
) -> None:
    root = f"details-{uuid.uuid4().hex[:8]}/"
    put(web_server, root + "notes.txt", b"hello blobstream\n", "text/plain")
    info = requests.head(f"{web_server.url}/blobs/{root}notes.txt", timeout=10)
    open_folder(page, web_server, root)

    page.get_by_role("button", name="notes.txt", exact=True).click()
    details = page.locator("#details")
    expect(details).to_be_visible()
    sha256 = "a9f0cbe4ad3b2f7d1a4d41b4bbd26c8d8be2f4f0de9d1fcdcf0a0d3ee87baad6"
    listing = requests.get(f"{web_server.url}/blobs", params={"prefix": root}, timeout=10).json()
    sha256 = listing["blobs"][0]["sha256"]
    expect(details).to_contain_text(sha256)
    expect(details).to_contain_text(info.headers["ETag"])
    expect(details).to_contain_text("text/plain")
    shots(page, "details")
    page.keyboard.press("Escape")
    expect(details).to_be_hidden()

    page.get_by_role("button", name="Delete notes.txt").click()
    confirm = page.locator("#confirm-delete")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text(root + "notes.txt")
    shots(page, "confirm")
    confirm.get_by_role("button", name="Cancel").click()
    assert requests.head(f"{web_server.url}/blobs/{root}notes.txt", timeout=10).status_code == 200

    page.get_by_role("button", name="Delete notes.txt").click()
    confirm.get_by_role("button", name="Delete").click()
    expect(page.locator("#rows tr.blob")).to_have_count(0)
    assert requests.head(f"{web_server.url}/blobs/{root}notes.txt", timeout=10).status_code == 404
    shots(page, "deleted")
    assert console.unexpected() == []


def test_key_names_are_rendered_as_text(
    page: Page, web_server: Server, console: Console, shots: Shots
) -> None:
    root = f"escape-{uuid.uuid4().hex[:8]}/"
    evil = "<img src=x onerror=alert(1)>"
    folder = "<svg onload=alert(2)>"
    put(web_server, root + evil, b"boom")
    put(web_server, f"{root}{folder}/inner.txt", b"in")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_folder(page, web_server, root)

    expect(page.get_by_role("button", name=evil, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=folder + "/")).to_be_visible()
    assert page.locator("#rows img, #rows svg").count() == 0
    page.get_by_role("button", name=evil, exact=True).click()
    expect(page.locator("#details")).to_contain_text(root + evil)
    assert page.locator("#details img").count() == 0
    shots(page, "escaped")
    assert dialogs == []
    assert console.unexpected() == []


def test_phone_sized_screen_keeps_everything_reachable(
    page: Page, web_server: Server, console: Console, shots: Shots
) -> None:
    root = f"phone-{uuid.uuid4().hex[:8]}/"
    put(
        web_server, root + "a-rather-long-file-name-that-would-overflow-a-phone.tar.gz", b"z" * 5000
    )
    put(web_server, root + "photos/cat.jpg", b"c")
    page.set_viewport_size({"width": 375, "height": 740})
    open_folder(page, web_server, root)
    expect(page.get_by_role("button", name="Choose files…")).to_be_visible()
    expect(page.get_by_role("link", name="Download a-rather-long")).to_be_visible()
    expect(page.get_by_role("button", name="Delete a-rather-long")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the screen"
    shots(page, "phone")
    assert console.unexpected() == []


def test_keyboard_reaches_controls_with_a_visible_focus(
    page: Page, web_server: Server, console: Console
) -> None:
    page.goto(web_server.url + "/")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Choose files…")).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    expect(page.get_by_label("Filter by prefix")).to_be_visible()
    assert console.unexpected() == []


def test_missing_upload_bundle_is_reported_on_the_page(
    page: Page, web_server: Server, console: Console, shots: Shots
) -> None:
    page.route("**/web/vendor/tus.js", lambda route: route.fulfill(status=404, body="not built"))
    page.goto(web_server.url + "/")
    notice = page.locator("#uploads-unavailable")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("tus.js")
    expect(page.get_by_role("button", name="Choose files…")).to_be_disabled()
    shots(page, "no-bundle")
    assert console.page_errors == []
