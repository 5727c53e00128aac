// The blobstream web page: browse blobs by folder, upload with tus, download, delete.
// Everything rendered from the server goes through text nodes (el()), never innerHTML.
"use strict";

(() => {
  const PAGE_SIZE = 100;
  const TOKEN_KEY = "blobstream.token";
  // Bytes per PATCH request; a smaller value loses less on a broken connection.
  const CHUNK_SIZE = Number(localStorage.getItem("blobstream.chunkSize")) || 64 * 1024 * 1024;
  const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000];

  const $ = (id) => document.getElementById(id);
  const apiUrl = (path) => new URL(path, document.baseURI).href;
  const blobPath = (key) => "blobs/" + key.split("/").map(encodeURIComponent).join("/");
  const baseName = (key) => key.slice(key.lastIndexOf("/") + 1);

  // ---- small helpers ---------------------------------------------------------------------

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (value !== false && value != null) node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child != null) node.append(child instanceof Node ? child : document.createTextNode(child));
    }
    return node;
  }

  function formatBytes(n) {
    if (!Number.isFinite(n)) return "?";
    if (n < 1024) return `${n} B`;
    const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    let value = n;
    let unit = -1;
    do {
      value /= 1024;
      unit += 1;
    } while (value >= 1024 && unit < units.length - 1);
    return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
  }

  function formatDuration(seconds) {
    if (!Number.isFinite(seconds) || seconds < 0) return "–";
    if (seconds < 60) return `${Math.ceil(seconds)} s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
    return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
  }

  const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  const formatDate = (iso) => (iso ? dateFormat.format(new Date(iso)) : "");

  function notify(message, kind = "info") {
    const note = el("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" },
      el("span", {}, message),
      el("button", { class: "button subtle", type: "button", "aria-label": "Dismiss",
        onclick: () => note.remove() }, "×"));
    $("notices").append(note);
    if (kind !== "error") setTimeout(() => note.remove(), 6000);
  }

  async function problemText(response) {
    try {
      const body = await response.json();
      return body.detail || body.title || `${response.status} ${response.statusText}`;
    } catch {
      return `${response.status} ${response.statusText}`;
    }
  }

  // ---- access token ----------------------------------------------------------------------

  const token = () => sessionStorage.getItem(TOKEN_KEY);
  const authHeaders = () => (token() ? { Authorization: `Bearer ${token()}` } : {});
  let tokenPrompt = null;

  function askForToken(reason) {
    if (tokenPrompt) return tokenPrompt;
    const dialog = $("token-dialog");
    $("token-reason").textContent = reason;
    $("token-input").value = "";
    tokenPrompt = new Promise((resolve) => {
      dialog.addEventListener("close", () => {
        tokenPrompt = null;
        const value = $("token-input").value.trim();
        if (dialog.returnValue === "ok" && value) {
          sessionStorage.setItem(TOKEN_KEY, value);
          showTokenButton();
          resolve(true);
        } else {
          resolve(false);
        }
      }, { once: true });
    });
    dialog.showModal();
    return tokenPrompt;
  }

  // Downloads are plain links; with a token, a service worker adds the header to them.
  function serveTokenToDownloads() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.addEventListener("message", (event) => {
      if (event.data && event.data.type === "blobstream-token?") event.ports[0].postMessage(token());
    });
    navigator.serviceWorker.startMessages();
    navigator.serviceWorker.register(apiUrl("token-sw.js")).catch((err) => {
      if (token()) notify(`Downloads may need the token again: ${err.message}`, "error");
    });
  }

  function showTokenButton() {
    $("token-button").hidden = !token();
  }

  // fetch() with the token; on 401 asks for one (again) and retries.
  async function api(method, path, headers = {}) {
    for (;;) {
      const response = await fetch(apiUrl(path), { method, headers: { ...authHeaders(), ...headers } });
      if (response.status !== 401) return response;
      const reason = token() ? "The server refused this token; enter another one."
        : "This server needs a bearer token.";
      if (token()) sessionStorage.removeItem(TOKEN_KEY);
      if (!(await askForToken(reason))) return response;
    }
  }

  // ---- listing ---------------------------------------------------------------------------

  const view = { folder: "", filter: "", cursors: [""], next: null, loading: 0 };

  function readLocation() {
    const params = new URLSearchParams(location.hash.slice(1));
    view.folder = params.get("prefix") || "";
    if (view.folder && !view.folder.endsWith("/")) view.folder += "/";
    view.filter = "";
    view.cursors = [""];
    $("search-input").value = "";
  }

  function renderCrumbs() {
    const crumbs = $("crumbs");
    const parts = view.folder.split("/").filter(Boolean);
    const items = [el("li", {}, crumbLink("All blobs", ""))];
    parts.forEach((part, i) => {
      const target = parts.slice(0, i + 1).join("/") + "/";
      const last = i === parts.length - 1;
      items.push(el("li", {}, last ? el("span", { "aria-current": "page" }, part) : crumbLink(part, target)));
    });
    crumbs.replaceChildren(el("ol", {}, items));
    $("upload-target").textContent = "/" + view.folder;
  }

  function crumbLink(label, folder) {
    return el("a", { href: folder ? `#${new URLSearchParams({ prefix: folder })}` : "#" }, label);
  }

  async function load() {
    const ticket = ++view.loading;
    renderCrumbs();
    const after = view.cursors[view.cursors.length - 1];
    const query = new URLSearchParams({ prefix: view.folder + view.filter, limit: String(PAGE_SIZE) });
    if (after) query.set("after", after);
    $("blobs").setAttribute("aria-busy", "true");
    let response;
    try {
      response = await api("GET", `blobs?${query}`);
    } catch (err) {
      showEmpty(`The server cannot be reached (${err.message}).`);
      return;
    } finally {
      $("blobs").removeAttribute("aria-busy");
    }
    if (ticket !== view.loading) return; // a newer listing is on its way
    if (!response.ok) {
      showEmpty(`The listing failed: ${await problemText(response)}`);
      return;
    }
    const body = await response.json();
    view.next = body.next;
    renderRows(body.blobs);
    const page = view.cursors.length;
    $("prev").disabled = page === 1;
    $("next").disabled = !body.next;
    $("page-info").textContent = `Page ${page}`;
    $("pager").hidden = page === 1 && !body.next;
  }

  function showEmpty(message) {
    $("rows").replaceChildren();
    $("empty").textContent = message;
    $("empty").hidden = false;
  }

  // Folders are derived from the keys of this page: "a/b/c" under "a/" is folder "b/".
  function renderRows(blobs) {
    const rows = [];
    let lastFolder = null;
    if (view.folder) {
      const parent = view.folder.slice(0, view.folder.slice(0, -1).lastIndexOf("/") + 1);
      rows.push(el("tr", { class: "folder up" },
        el("td", { colspan: "4" }, el("a", { href: parent ? `#${new URLSearchParams({ prefix: parent })}` : "#" },
          el("span", { class: "icon", "aria-hidden": "true" }, "↰"), "Parent folder"))));
    }
    for (const blob of blobs) {
      const rest = blob.key.slice(view.folder.length);
      const slash = rest.indexOf("/");
      if (slash >= 0) {
        const folder = rest.slice(0, slash + 1);
        if (folder !== lastFolder) rows.push(folderRow(folder));
        lastFolder = folder;
      } else {
        rows.push(blobRow(blob, rest));
      }
    }
    $("rows").replaceChildren(...rows);
    const onlyParent = rows.length === (view.folder ? 1 : 0);
    $("empty").hidden = !onlyParent;
    $("empty").textContent = view.filter ? `No blob here starts with “${view.filter}”.`
      : "No blobs here yet. Drop files above to upload.";
  }

  function folderRow(folder) {
    const target = view.folder + folder;
    return el("tr", { class: "folder" },
      el("td", { colspan: "4" }, el("a", { href: `#${new URLSearchParams({ prefix: target })}` },
        el("span", { class: "icon", "aria-hidden": "true" }, "▸"), folder)));
  }

  function blobRow(blob, name) {
    return el("tr", { class: "blob", "data-key": blob.key },
      el("td", { class: "name" },
        el("button", { class: "link key-text", type: "button", title: "Show details",
          onclick: () => showDetails(blob) }, name)),
      el("td", { class: "num", title: `${blob.size.toLocaleString()} bytes` }, formatBytes(blob.size)),
      el("td", { class: "modified" }, el("time", { datetime: blob.last_modified }, formatDate(blob.last_modified))),
      el("td", { class: "actions" },
        el("a", { class: "button small", href: downloadHref(blob.key), "aria-label": `Download ${name}` },
          "Download"),
        el("button", { class: "button small subtle danger-text", type: "button",
          "aria-label": `Delete ${name}`, onclick: () => confirmDelete(blob) }, "Delete")));
  }

  // No download attribute: Chromium sends <a download> past the service worker that adds
  // the token; the server's Content-Disposition: attachment makes it a download anyway.
  function downloadHref(key) {
    return `${blobPath(key)}?${new URLSearchParams({ download: baseName(key) })}`;
  }

  function showDetails(blob) {
    const rows = [
      ["Key", blob.key, "key-text"],
      ["Size", `${formatBytes(blob.size)} (${blob.size.toLocaleString()} bytes)`],
      ["Content type", blob.content_type],
      ["Modified", formatDate(blob.last_modified)],
      ["SHA-256", blob.sha256, "hash"],
      ["ETag", blob.etag, "hash"],
    ];
    $("details-list").replaceChildren(...rows.flatMap(([term, value, cls]) =>
      [el("dt", {}, term), el("dd", { class: cls || false }, value ?? "–")]));
    $("details-download").href = downloadHref(blob.key);
    $("details").showModal();
  }

  function confirmDelete(blob) {
    const dialog = $("confirm-delete");
    $("delete-key").textContent = blob.key;
    dialog.returnValue = "";
    dialog.addEventListener("close", async () => {
      if (dialog.returnValue !== "delete") return;
      // Only the version that was listed: someone may have replaced it since.
      const response = await api("DELETE", blobPath(blob.key), { "If-Match": blob.etag });
      if (response.ok || response.status === 404) notify(`Deleted ${blob.key}`);
      else if (response.status === 412) notify(`${blob.key} changed since it was listed; not deleted.`, "error");
      else notify(`Could not delete ${blob.key}: ${await problemText(response)}`, "error");
      load();
    }, { once: true });
    dialog.showModal();
  }

  // ---- uploads ---------------------------------------------------------------------------

  const tusReady = typeof window.tus !== "undefined" && window.tus.isSupported;

  function uploadFiles(files) {
    if (!tusReady) {
      notify("Uploads are unavailable: the upload component is missing.", "error");
      return;
    }
    for (const file of files) startUpload(file, view.folder + file.name);
  }

  function startUpload(file, key) {
    const bar = el("progress", { max: String(file.size || 1), value: "0", "aria-label": `Progress of ${key}` });
    const status = el("span", { class: "upload-status" }, "Starting…");
    const figures = el("span", { class: "upload-figures muted" }, `0 B of ${formatBytes(file.size)}`);
    const pause = el("button", { class: "button small", type: "button" }, "Pause");
    const cancel = el("button", { class: "button small subtle", type: "button" }, "Cancel");
    const item = el("li", { class: "upload", "data-key": key },
      el("div", { class: "upload-line" },
        el("span", { class: "upload-name key-text" }, key), el("span", { class: "upload-controls" }, pause, cancel)),
      bar,
      el("div", { class: "upload-line" }, figures, status));
    $("uploads").prepend(item);

    const samples = [];
    const started = performance.now();
    let paused = false;
    const setStatus = (text, kind = "") => {
      status.textContent = text;
      item.dataset.state = kind;
    };

    const upload = new window.tus.Upload(file, {
      endpoint: apiUrl("uploads"),
      chunkSize: CHUNK_SIZE,
      retryDelays: RETRY_DELAYS,
      removeFingerprintOnSuccess: true,
      metadata: { key, filename: file.name, filetype: file.type || "application/octet-stream" },
      onBeforeRequest(req) {
        if (token()) req.setHeader("Authorization", `Bearer ${token()}`);
      },
      onProgress(sent, total) {
        const now = performance.now();
        samples.push([now, sent]);
        while (samples.length > 2 && now - samples[0][0] > 5000) samples.shift();
        const [t0, b0] = samples[0];
        const rate = now > t0 ? ((sent - b0) * 1000) / (now - t0) : 0;
        bar.value = sent;
        figures.textContent = `${formatBytes(sent)} of ${formatBytes(total)}` +
          (rate > 0 ? ` · ${formatBytes(rate)}/s · ${formatDuration((total - sent) / rate)} left` : "");
        if (!paused) setStatus("Uploading", "uploading");
      },
      onShouldRetry(err, attempt) {
        const code = err.originalResponse ? err.originalResponse.getStatus() : 0;
        if (code === 401 || code === 403 || (code >= 400 && code < 500 && code !== 409 && code !== 423)) return false;
        const delay = RETRY_DELAYS[attempt] ?? 0;
        setStatus(`Connection lost; retrying${delay ? ` in ${formatDuration(delay / 1000)}` : ""}…`, "retrying");
        samples.length = 0;
        return true;
      },
      async onError(err) {
        const code = err.originalResponse ? err.originalResponse.getStatus() : 0;
        if (code === 401 && (await askForToken("Uploading needs a token with write access."))) {
          upload.start();
          return;
        }
        setStatus(`Failed: ${describeTusError(err)}`, "failed");
        pause.textContent = "Retry";
        paused = true;
      },
      onSuccess() {
        bar.value = bar.max;
        figures.textContent = `${formatBytes(file.size)} in ${formatDuration((performance.now() - started) / 1000)}`;
        setStatus("Done", "done");
        pause.remove();
        cancel.textContent = "Clear";
        paused = true;
        notify(`Uploaded ${key}`);
        refreshResumable();
        load();
      },
    });

    pause.addEventListener("click", () => {
      if (paused) {
        paused = false;
        pause.textContent = "Pause";
        setStatus("Resuming…", "uploading");
        upload.start();
      } else {
        paused = true;
        pause.textContent = "Resume";
        setStatus("Paused", "paused");
        upload.abort();
      }
    });
    cancel.addEventListener("click", () => {
      if (item.dataset.state !== "done") upload.abort(true).catch(() => {}).finally(refreshResumable);
      item.remove();
    });

    upload.findPreviousUploads().then((previous) => {
      const same = previous.find((p) => p.metadata && p.metadata.key === key);
      if (same) {
        upload.resumeFromPreviousUpload(same);
        setStatus("Resuming an earlier upload…", "uploading");
      }
      upload.start();
    });
  }

  function describeTusError(err) {
    const res = err.originalResponse;
    if (!res) return "the server cannot be reached";
    try {
      const body = JSON.parse(res.getBody());
      return body.detail || body.title;
    } catch {
      return `HTTP ${res.getStatus()}`;
    }
  }

  // Uploads a reload interrupted: tus-js-client keeps their URLs in localStorage.
  async function refreshResumable() {
    const list = $("resumable");
    if (!tusReady) return;
    const stored = await window.tus.defaultOptions.urlStorage.findAllUploads();
    const active = new Set([...document.querySelectorAll("#uploads .upload")].map((li) => li.dataset.key));
    const items = stored
      .filter((s) => s.metadata && s.metadata.key && !active.has(s.metadata.key))
      .map((s) => el("li", {},
        el("span", {}, "Unfinished: ", el("span", { class: "key-text" }, s.metadata.key),
          ` (${formatBytes(s.size)}). Choose the same file to continue.`),
        el("button", { class: "button small subtle", type: "button",
          onclick: async () => {
            await window.tus.defaultOptions.urlStorage.removeUpload(s.urlStorageKey);
            refreshResumable();
          } }, "Forget")));
    list.replaceChildren(...items);
    list.hidden = items.length === 0;
  }

  // ---- wiring ----------------------------------------------------------------------------

  function wire() {
    $("host").textContent = location.host;
    showTokenButton();
    serveTokenToDownloads();
    $("token-button").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      showTokenButton();
      notify("Token forgotten for this tab.");
    });

    const input = $("file-input");
    $("choose-files").addEventListener("click", () => input.click());
    input.addEventListener("change", () => {
      uploadFiles([...input.files]);
      input.value = "";
    });

    const zone = $("dropzone");
    let depth = 0;
    document.addEventListener("dragenter", (e) => {
      if (![...e.dataTransfer.types].includes("Files")) return;
      depth += 1;
      zone.classList.add("dragging");
    });
    document.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (!depth) zone.classList.remove("dragging");
    });
    document.addEventListener("dragover", (e) => e.preventDefault());
    document.addEventListener("drop", (e) => {
      e.preventDefault();
      depth = 0;
      zone.classList.remove("dragging");
      if (e.dataTransfer.files.length) uploadFiles([...e.dataTransfer.files]);
    });

    let typing;
    $("search").addEventListener("submit", (e) => e.preventDefault());
    $("search-input").addEventListener("input", (e) => {
      clearTimeout(typing);
      typing = setTimeout(() => {
        view.filter = e.target.value;
        view.cursors = [""];
        load();
      }, 250);
    });
    $("next").addEventListener("click", () => {
      if (!view.next) return;
      view.cursors.push(view.next);
      load();
    });
    $("prev").addEventListener("click", () => {
      if (view.cursors.length > 1) view.cursors.pop();
      load();
    });
    window.addEventListener("hashchange", () => {
      readLocation();
      load();
    });

    if (!tusReady) {
      const missing = typeof window.tus === "undefined";
      $("uploads-unavailable").textContent = missing
        ? "Uploads are unavailable: the upload component (web/vendor/tus.js) is missing from this " +
          "installation. Build it with `make` (npm ci and the bundle step in web/). " +
          "Browsing, downloads and deletes still work."
        : "Uploads are unavailable: this browser lacks what resumable uploads need.";
      $("uploads-unavailable").hidden = false;
      $("choose-files").disabled = true;
      zone.classList.add("disabled");
    }

    readLocation();
    load();
    refreshResumable();
  }

  wire();
})();
