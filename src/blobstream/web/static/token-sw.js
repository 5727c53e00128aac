// A service worker that adds the page's bearer token to blob downloads: a plain
// link cannot carry an Authorization header, and the response must stream to
// disk rather than through the page's memory.
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  const blobs = new URL("blobs/", self.registration.scope);
  if (request.method !== "GET" || url.origin !== blobs.origin) return;
  if (!url.pathname.startsWith(blobs.pathname) || request.headers.has("Authorization")) return;
  event.respondWith(withToken(request));
});

async function withToken(request) {
  const token = await askPages();
  if (!token) return fetch(request);
  const headers = new Headers(request.headers);
  headers.set("Authorization", `Bearer ${token}`);
  // A navigation Request cannot be copied; its URL and headers are all a GET needs.
  return fetch(request.url, { headers, credentials: "same-origin", redirect: "follow" });
}

// The token lives in a page's sessionStorage: ask the open pages for it.
async function askPages() {
  const pages = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const page of pages) {
    const token = await new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = (event) => resolve(event.data);
      page.postMessage({ type: "blobstream-token?" }, [channel.port2]);
      setTimeout(() => resolve(null), 2000);
    });
    if (token) return token;
  }
  return null;
}
