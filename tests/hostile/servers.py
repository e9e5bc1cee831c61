"""Hostile HTTP servers on raw sockets, for testing that the suite survives bad targets.

Usage::

    with start_hostile("drip") as srv:          # or: host, port, stop = start_hostile("drip")
        client = RawClient(srv.base_url)
        ...

Every server listens on 127.0.0.1 on an ephemeral port, answers any method and
path, handles each connection in its own daemon thread, and misbehaves in the
way its kind names (see :data:`KINDS`).  ``stop()`` closes the listener and all
open connections and joins the threads, so endless responses end promptly.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

__all__ = ["KINDS", "HostileServer", "start_hostile"]

# A client that stops reading without closing must not pin a handler thread forever (stop() ends it
# at once); long enough that a client slowed down by load is never taken for one.
_SEND_TIMEOUT = 60.0


class _Stopped(Exception):
    pass


@dataclass
class _Conn:
    sock: socket.socket
    stop: threading.Event
    options: dict[str, object]

    def read_request(self) -> bytes:
        """Read one request (headers plus Content-Length body); returns what arrived."""
        self.sock.settimeout(5.0)
        data = b""
        try:
            while b"\r\n\r\n" not in data and len(data) < 65536:
                part = self.sock.recv(65536)
                if not part:
                    return data
                data += part
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip() or 0)
            while len(body) < length:
                part = self.sock.recv(65536)
                if not part:
                    break
                body += part
            return head + b"\r\n\r\n" + body
        except (OSError, ValueError):
            return data

    def send(self, data: bytes) -> None:
        if self.stop.is_set():
            raise _Stopped
        self.sock.settimeout(_SEND_TIMEOUT)
        self.sock.sendall(data)

    def sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise _Stopped

    def opt(self, name: str, default: object) -> object:
        return self.options.get(name, default)


def _head(status: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


_CHUNK_EVENT = (
    b'data: {"id":"chatcmpl-hostile","object":"chat.completion.chunk","created":1700000000,'
    b'"model":"hostile","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}\n\n'
)


def _garbage(c: _Conn) -> None:
    c.read_request()
    c.send(b"\x00\xff\xfeSSH-2.0-not-http \x1b[31m garbage\r\n" * 64)


def _html(c: _Conn) -> None:
    c.read_request()
    page = b"<!DOCTYPE html><html><head><title>Welcome</title></head><body><h1>It works!</h1></body></html>\n"
    c.send(_head("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(page)))]))
    c.send(page)


def _endless_body(c: _Conn) -> None:
    c.read_request()
    c.send(_head("200 OK", [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")]))
    c.send(_chunk(b'{"choices":"'))
    block = _chunk(b"x" * 65536)
    while True:
        c.send(block)


def _endless_stream(c: _Conn) -> None:
    c.read_request()
    c.send(_head("200 OK", [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")]))
    block = _chunk(_CHUNK_EVENT * 50)
    while True:
        c.send(block)


def _keepalive(c: _Conn) -> None:
    c.read_request()
    c.send(_head("200 OK", [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")]))
    interval = float(c.opt("interval", 0.05))  # type: ignore[arg-type]
    while True:
        c.send(_chunk(b": keep-alive\n\n"))
        c.sleep(interval)


def _huge_json(c: _Conn) -> None:
    c.read_request()
    size = int(c.opt("size", 50 * 1024 * 1024))  # type: ignore[call-overload]
    prefix, suffix = b'{"content":"', b'"}'
    c.send(_head("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(size))]))
    c.send(prefix)
    remaining = size - len(prefix) - len(suffix)
    block = b"x" * 65536
    while remaining > 0:
        c.send(block[: min(remaining, len(block))])
        remaining -= len(block)
    c.send(suffix)


def _drip(c: _Conn) -> None:
    c.read_request()
    body = b'{"id":"chatcmpl-drip","object":"chat.completion","choices":[]}'
    c.send(_head("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]))
    interval = float(c.opt("interval", 1.0))  # type: ignore[arg-type]
    for i in range(len(body)):
        c.send(body[i : i + 1])
        c.sleep(interval)


def _reset(c: _Conn) -> None:
    c.read_request()
    c.send(_head("200 OK", [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")]))
    c.send(_chunk(_CHUNK_EVENT * 2))
    c.sleep(0.2)
    # SO_LINGER 0 makes close() send RST instead of FIN.
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _invalid_utf8_json(c: _Conn) -> None:
    c.read_request()
    body = b'{"id":"chatcmpl-x","object":"chat.completion","note":"bad \xff\xfe \xc3\x28 bytes"}'
    c.send(_head("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]))
    c.send(body)


def _invalid_utf8_sse(c: _Conn) -> None:
    c.read_request()
    body = _CHUNK_EVENT.replace(b'"a"', b'"\xff\xc3\x28"') + b"data: [DONE]\n\n"
    c.send(_head("200 OK", [("Content-Type", "text/event-stream"), ("Content-Length", str(len(body)))]))
    c.send(body)


def _deep_json(c: _Conn) -> None:
    c.read_request()
    depth = int(c.opt("depth", 100_000))  # type: ignore[call-overload]
    body = b"[" * depth + b"]" * depth
    c.send(_head("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]))
    c.send(body)


def _redirect(c: _Conn) -> None:
    c.read_request()
    location = str(c.opt("location", "http://169.254.1.1/v1/chat/completions"))
    c.send(_head("302 Found", [("Location", location), ("Content-Length", "0")]))


def _short_body(c: _Conn) -> None:
    c.read_request()
    c.send(_head("200 OK", [("Content-Type", "application/json"), ("Content-Length", "1000")]))
    c.send(b'{"id":"x",')


def _silent(c: _Conn) -> None:
    c.read_request()
    c.stop.wait()


def _close_after_headers(c: _Conn) -> None:
    c.read_request()
    c.send(_head("200 OK", [("Content-Type", "application/json"), ("Content-Length", "100")]))


def _done_then_open(c: _Conn) -> None:
    c.read_request()
    c.send(_head("200 OK", [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")]))
    c.send(_chunk(_CHUNK_EVENT + b"data: [DONE]\n\n"))
    c.stop.wait()


def _events_after_done(c: _Conn) -> None:
    c.read_request()
    body = _CHUNK_EVENT + b"data: [DONE]\n\n" + _CHUNK_EVENT + b": bye\n\n"
    c.send(_head("200 OK", [("Content-Type", "text/event-stream"), ("Content-Length", str(len(body)))]))
    c.send(body)


def _request_header(request: bytes, name: bytes) -> bytes:
    for line in request.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return b""


def _echo_key(c: _Conn) -> None:
    """Every request's Authorization value comes back in a header, in the JSON body, and (for
    ``"stream": true`` requests) inside an SSE event and a comment; the raw key (after ``Bearer``)
    too, and the whole request head (every header) inside the JSON and SSE texts."""
    while True:  # keep-alive: the suite reuses pooled connections
        request = c.read_request()
        if not request:
            return
        auth = _request_header(request, b"authorization")
        key = auth.split(b" ", 1)[-1]
        head = request.partition(b"\r\n\r\n")[0].decode("latin-1").replace("\r\n", " | ")
        echo = json.dumps(f"you sent {auth.decode('latin-1')} (key {key.decode('latin-1')}); request: {head}").encode()
        headers = [("X-Echo-Authorization", auth.decode("latin-1")), ("Www-Authenticate", f"Bearer realm={key.decode('latin-1')}")]
        if b'"stream":true' in request.replace(b" ", b""):
            event = _CHUNK_EVENT.replace(b'"a"', echo)
            body = event + b"data: " + echo + b"\n\n" + b": " + key + b"\n\ndata: [DONE]\n\n"
            headers.append(("Content-Type", "text/event-stream"))
        elif request.startswith(b"GET"):
            body = b'{"object":"list","data":[{"id":' + echo + b',"object":"model","owned_by":"echo"}]}'
            headers.append(("Content-Type", "application/json"))
        else:
            body = (b'{"id":"chatcmpl-echo","object":"chat.completion","created":1700000000,"model":"echo",'
                    b'"choices":[{"index":0,"message":{"role":"assistant","content":' + echo + b'},'
                    b'"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}')
            headers.append(("Content-Type", "application/json"))
        c.send(_head("200 OK", [*headers, ("Content-Length", str(len(body)))]) + body)


def _escaped(key: str) -> str:
    """The key as PHP's json_encode writes it (``\\/``), then once more with every character ``\\uXXXX``."""
    return key.replace("/", "\\/") + " " + "".join(f"\\u{ord(ch):04X}" for ch in key)


def _echo_key_encoded(c: _Conn) -> None:
    """Echoes the key (the ``Authorization`` value after ``Bearer``) in the form option ``mode`` names:

    * ``escaped``: JSON-escaped (``\\/``, every character as ``\\uXXXX``) in bodies and events,
      percent-encoded in a header and a body;
    * ``split``: streams carry the key three characters per event; bodies hold it across a 160-character cut;
    * ``cut``: HTTP 400 error messages hold it after a filler that grows by 7 characters per request,
      so it straddles every cut a report makes (160, 200, 300, 1000 characters);
    * ``cap``: the body holds it across the 8 MiB body cap;
    * ``bad-header``: a response header line without a colon holds it after a growing filler (a transport
      error quotes that line); ``GET`` requests get a valid answer.
    """
    mode = str(c.opt("mode", "escaped"))
    served = 0
    while True:
        request = c.read_request()
        if not request:
            return
        key = _request_header(request, b"authorization").split(b" ", 1)[-1].decode("latin-1")
        stream = b'"stream":true' in request.replace(b" ", b"")
        served += 1
        headers = [("Content-Type", "application/json")]
        if mode == "bad-header" and not request.startswith(b"GET"):  # the preflight must get through
            filler = "z" * (served * 7 % 330)  # the transport error quoting the line is cut at 300 characters
            c.send(f"HTTP/1.1 200 OK\r\nX-Echo {filler}{key} is not a header\r\nContent-Length: 2\r\n\r\n{{}}".encode("latin-1"))
            continue
        if mode == "cap":
            size = 8 * 1024 * 1024 - len(key) // 2
            body = b'{"content":"' + b"x" * (size - 12) + key.encode() + b'"}'
            c.send(_head("200 OK", [*headers, ("Content-Length", str(len(body)))]) + body)
            continue
        if mode == "cut":
            message = "x" * (served * 7 % 1100) + key + " was refused"
            body = json.dumps({"error": {"message": message, "type": "invalid_request_error", "param": key, "code": key}}).encode()
            c.send(_head("400 Bad Request", [*headers, ("Content-Length", str(len(body)))]) + body)
            continue
        text = _escaped(key) + " " + quote(key, safe="") if mode == "escaped" else "y" * 150 + key
        if stream:
            pieces = [key[i : i + 3] for i in range(0, len(key), 3)] if mode == "split" else [text]
            events = [_CHUNK_EVENT.replace(b'"a"', json.dumps(p).encode()) for p in pieces]
            if mode == "escaped":
                events = [_CHUNK_EVENT.replace(b'"a"', b'"' + _escaped(key).encode() + b'"')]
            body = b"".join(events) + b"data: [DONE]\n\n"
            headers = [("Content-Type", "text/event-stream")]
        else:
            content = json.dumps(text).encode() if mode != "escaped" else b'"' + text.encode() + b'"'
            body = (b'{"id":"chatcmpl-echo","object":"chat.completion","created":1700000000,"model":"echo",'
                    b'"choices":[{"index":0,"message":{"role":"assistant","content":' + content + b'},'
                    b'"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}')
        headers.append(("X-Echo", quote(key, safe="")))
        c.send(_head("200 OK", [*headers, ("Content-Length", str(len(body)))]) + body)


def _close_immediately(c: _Conn) -> None:
    """Close without reading the request or answering."""


def _gzip_bomb(c: _Conn) -> None:
    c.read_request()
    size = int(c.opt("size", 200 * 1024 * 1024))  # type: ignore[call-overload]
    c.send(
        _head(
            "200 OK",
            [("Content-Type", "application/json"), ("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")],
        )
    )
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"0" * (1024 * 1024)
    c.send(_chunk(z.compress(b"[") + z.flush(zlib.Z_SYNC_FLUSH)))
    for _ in range(size // len(zeros)):
        c.send(_chunk(z.compress(zeros) + z.flush(zlib.Z_SYNC_FLUSH)))
    c.send(_chunk(z.compress(b"]") + z.flush()) + _chunk(b""))


def _rate_limited(c: _Conn) -> None:
    c.read_request()
    body = b'{"error": {"message": "Rate limit reached.", "type": "requests", "param": null, "code": "rate_limit_exceeded"}}'
    c.send(_head("429 Too Many Requests", [("Content-Type", "application/json"), ("Retry-After", "0"),
                                            ("Content-Length", str(len(body))), ("Connection", "close")]))
    c.send(body)


#: Hostile behaviours by name.
KINDS: dict[str, Callable[[_Conn], None]] = {
    "garbage": _garbage,  # bytes that are not HTTP
    "html": _html,  # 200 text/html page whatever was asked
    "endless-body": _endless_body,  # chunked JSON body that never ends
    "endless-stream": _endless_stream,  # SSE chunks forever, fast
    "keepalive": _keepalive,  # ": keep-alive" comments forever (option interval, default 0.05 s)
    "huge-json": _huge_json,  # 50 MB JSON body with Content-Length (option size)
    "drip": _drip,  # JSON body at one byte per second (option interval)
    "reset": _reset,  # two SSE events, then TCP RST
    "invalid-utf8-json": _invalid_utf8_json,  # JSON body containing invalid UTF-8
    "invalid-utf8-sse": _invalid_utf8_sse,  # SSE event containing invalid UTF-8, then [DONE]
    "deep-json": _deep_json,  # JSON array nested 100 000 levels (option depth)
    "redirect": _redirect,  # 302 to another host (option location)
    "short-body": _short_body,  # Content-Length 1000, 10 bytes, close
    "silent": _silent,  # accepts, reads the request, never answers
    "rate-limited": _rate_limited,  # every request: 429 with Retry-After: 0
    "close-after-headers": _close_after_headers,  # headers promising 100 bytes, then close
    "close-immediately": _close_immediately,  # accept and close at once
    "done-then-open": _done_then_open,  # one chunk and [DONE], then the connection stays open
    "events-after-done": _events_after_done,  # a chunk and a comment after [DONE]
    "gzip-bomb": _gzip_bomb,  # gzip body that inflates to 200 MB (option size)
    "echo-key": _echo_key,  # echoes the Authorization value in headers, JSON bodies and SSE events
    "echo-key-encoded": _echo_key_encoded,  # echoes the key escaped, split, at cuts and caps (option mode)
}


@dataclass
class HostileServer:
    """A running hostile server; iterable as ``(host, port, stop)`` and usable as a context manager."""

    kind: str
    host: str
    port: int
    connections: int = 0  # connections accepted so far
    _listener: socket.socket | None = None
    _stop_event: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _socks: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        """Base URL of an OpenAI-style API on this server (``http://127.0.0.1:PORT/v1``)."""
        return f"http://{self.host}:{self.port}/v1"

    def stop(self) -> None:
        """Stop accepting, close every open connection and join the handler threads (idempotent)."""
        self._stop_event.set()
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        for t in list(self._threads):
            t.join(timeout=3.0)

    def __iter__(self) -> Iterator[object]:
        return iter((self.host, self.port, self.stop))

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, handler: Callable[[_Conn], None], options: dict[str, object]) -> None:
        assert self._listener is not None
        while not self._stop_event.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._socks.append(sock)
            t = threading.Thread(
                target=self._handle, args=(handler, _Conn(sock, self._stop_event, options)), daemon=True
            )
            self._threads.append(t)
            t.start()

    def _handle(self, handler: Callable[[_Conn], None], conn: _Conn) -> None:
        try:
            handler(conn)
        except (_Stopped, OSError):
            pass
        finally:
            conn.sock.close()
            with self._lock:
                self._socks.remove(conn.sock)


def start_hostile(kind: str, **options: object) -> HostileServer:
    """Start the hostile server ``kind`` (a key of :data:`KINDS`) on 127.0.0.1 and return it running."""
    handler = KINDS[kind]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    host, port = listener.getsockname()
    server = HostileServer(kind=kind, host=host, port=port, _listener=listener)
    t = threading.Thread(target=server._serve, args=(handler, options), daemon=True, name=f"hostile-{kind}")
    server._threads.append(t)
    t.start()
    return server
