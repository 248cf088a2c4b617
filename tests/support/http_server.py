"""A real HTTP server on 127.0.0.1 for the download tests: it serves ``Blob`` s (with or without ``Range``, cut
short on purpose, with an ETag) and bare ``Reply`` s (the Hugging Face hub's auth check), and logs every request's
path, ``Range`` and ``If-Range``. Used by ``test_download.py`` and ``test_whisper_choice.py``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Blob:
    """One file the server serves: ``cut`` truncates the next ``cuts`` responses after that many bytes."""

    data: bytes
    ranges: bool = True
    etag: str = '"v1"'
    cut: int = 0
    cuts: int = 0


@dataclass
class Reply:
    """A bare status answer with headers (the hub's auth check)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)


class Server:
    def __init__(self) -> None:
        self.routes: dict[str, Blob | Reply] = {}
        self.log: list[tuple[str, str | None, str | None]] = []  # (path, Range, If-Range) per request
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                rng, if_range = self.headers.get("Range"), self.headers.get("If-Range")
                server.log.append((self.path.split("?")[0], rng, if_range))
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_error(404)
                elif isinstance(route, Reply):
                    self.send_response(route.status)
                    for key, value in {"Content-Length": "2", **route.headers}.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(b"{}")
                else:
                    self._blob(route, rng, if_range)

            def _blob(self, blob: Blob, rng: str | None, if_range: str | None) -> None:
                start = 0
                if rng and blob.ranges and (if_range is None or if_range == blob.etag):
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(blob.data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(blob.data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(blob.data) - 1}/{len(blob.data)}")
                else:
                    self.send_response(200)
                body = blob.data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", blob.etag)
                if blob.ranges:
                    self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if blob.cuts:
                    blob.cuts -= 1
                    body = body[:blob.cut]
                self.wfile.write(body)

        return Handler

    def requests_for(self, path: str) -> list[tuple[str, str | None, str | None]]:
        return [r for r in self.log if r[0] == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
