"""Headless Chromium driven through the DevTools protocol over a pipe (stdlib only).

Tests open pages in the real browser and see what a reader would: the DOM as
rendered, a screenshot, every console message, every uncaught exception and
every request the page makes. `--remote-debugging-pipe` speaks JSON messages
ended by NUL on file descriptors 3 (to the browser) and 4 (from it).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import node_tools, require_tool

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)
LOAD_TIMEOUT_S = 120


@dataclass
class PageVisit:
    """What happened while a page loaded."""

    requests: list[str] = field(default_factory=list)
    console: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    log_entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        found = [json.dumps(c) for c in self.console if c.get("type") in ("error", "assert", "warning")]
        found += [json.dumps(e) for e in self.exceptions]
        found += [json.dumps(e) for e in self.log_entries if e.get("level") in ("error", "warning")]
        return found


class Browser:
    """One Chromium process with one page; use as a context manager."""

    def __init__(self, width: int = 1280, height: int = 1600) -> None:
        self.profile = tempfile.TemporaryDirectory(prefix="flowgen-chromium-")
        chromium = require_tool("chromium")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire() -> None:
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [
            chromium,
            *FLAGS,
            f"--user-data-dir={self.profile.name}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        self.proc = subprocess.Popen(
            args,
            preexec_fn=wire,
            close_fds=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=self.session)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.profile.cleanup()

    # ---- protocol -----------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self._events.append(reply)

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(raw))

    def _wait_for(self, method: str) -> None:
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while not any(e.get("method") == method for e in self._events):
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {method}")
            self._events.append(self._read())

    # ---- what tests use -------------------------------------------------------------------

    def open(self, url: str) -> PageVisit:
        """Load `url` and return every request, console message and error seen."""
        self._events.clear()
        self.call("Page.navigate", {"url": url}, self.session)
        self._wait_for("Page.loadEventFired")
        self.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        return self.visit()

    def visit(self) -> PageVisit:
        visit = PageVisit()
        for event in self._events:
            params = event.get("params", {})
            method = event.get("method")
            if method == "Network.requestWillBeSent":
                visit.requests.append(params["request"]["url"])
            elif method == "Runtime.consoleAPICalled":
                visit.console.append(
                    {
                        "type": params.get("type"),
                        "args": [a.get("value", a.get("description")) for a in params.get("args", [])],
                    }
                )
            elif method == "Runtime.exceptionThrown":
                visit.exceptions.append(params.get("exceptionDetails", {}))
            elif method == "Log.entryAdded":
                visit.log_entries.append(params.get("entry", {}))
        return visit

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, self.session
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode(
            self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, self.session)["data"]
        )
        path.write_bytes(data)
        return data


MERMAID_CHECK = """
(async () => {
  mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
  const out = [];
  for (const [i, text] of %s.entries()) {
    try {
      const parsed = await mermaid.parse(text);
      const { svg } = await mermaid.render("diagram" + i, text);
      const holder = document.createElement("div");
      holder.innerHTML = svg;
      holder.querySelectorAll("style").forEach((node) => node.remove());
      out.push({ ok: true, type: parsed.diagramType, text: holder.textContent });
    } catch (err) {
      out.push({ ok: false, error: String((err && err.message) || err) });
    }
  }
  return out;
})()
"""


def mermaid_js() -> Path:
    """The real Mermaid library, installed in the node tools folder (`npm ci`)."""
    path = node_tools() / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
    if not path.is_file():
        import pytest

        pytest.fail(f"{path} is missing; run scripts/test, which runs `npm ci` in tools/node")
    return path


def check_mermaid(browser: Browser, mermaid_js: Path, texts: list[str], workdir: Path) -> list[dict[str, Any]]:
    """Parse and render each Mermaid text with the real Mermaid library in the page.

    Returns one result per text: `ok`, the `type` Mermaid detected and the
    rendered `text` content, or the `error` Mermaid raised.
    """
    page = workdir / "mermaid-check.html"
    page.write_text(
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><script src="{mermaid_js.resolve().as_uri()}"></script></head><body></body></html>'
    )
    visit = browser.open(page.as_uri())
    assert not visit.errors, visit.errors
    return list(browser.evaluate(MERMAID_CHECK % json.dumps(texts)))
