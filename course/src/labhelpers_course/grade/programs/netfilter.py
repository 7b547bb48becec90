"""The sandbox's only way out: an HTTP filter passing reads to the stand-in, on unix sockets.

``python netfilter.py CONFIG`` (the student runtime's Python, as a uid of its own). The
sandbox has no network but its own loopback; for each service a submission may use, the
grader binds one unix socket served here into the sandbox, and a forwarder inside
(``forward.py``) makes it reachable at the stand-in's usual ``127.0.0.1:P``. This filter

* allows only ``GET``/``HEAD`` (and, on the STAC API, ``POST <root>/search``): reading the
  catalog and reading blobs. Every other method or path gets a 403 saying why. PostgreSQL, the
  Dask gateway and everything else have no socket at all;
* **re-originates** each allowed request (parsed by aiohttp, sent anew by its client) instead of
  relaying bytes, so no request can be smuggled inside another; only the request headers reads
  need are forwarded (``Authorization``, cookies and the like are dropped) and SAS-signed
  requests are refused;
* counts what it allowed, refused and served, and **upstream failures** (refused connections,
  timeouts, 5xx): the grader tells a stand-in failure (retry, never a zero) from a student's
  mistake with them.

It prints ``ready`` once listening and, on SIGTERM, one JSON line of statistics.
Standalone: the standard library and aiohttp only (it is copied out of the package and run by
a Python that does not have the course tools).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from dataclasses import asdict, dataclass, field
from urllib.parse import parse_qsl, urlsplit

__all__ = ["Route", "Stats", "decide", "serve", "main"]

#: Request headers forwarded upstream; every other one is dropped.
FORWARDED_HEADERS = frozenset({
    "accept", "accept-encoding", "accept-language", "content-type", "if-match", "if-modified-since",
    "if-none-match", "if-range", "if-unmodified-since", "range", "user-agent", "x-ms-version", "x-ms-date",
    "x-ms-client-request-id", "x-ms-range", "x-ms-range-get-content-md5", "x-ms-range-get-content-crc64",
})
#: Response headers not passed back (hop-by-hop, or recomputed by aiohttp).
_HOP_HEADERS = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
                          "transfer-encoding", "upgrade", "content-length"})
MAX_BODY = 1_000_000  # a STAC search body is a few kB


@dataclass(frozen=True)
class Route:
    """One service: its socket, where it really listens (``http://127.0.0.1:P[/root]``), its kind."""

    name: str  # "stac" or "blob"
    socket: str
    upstream: str


@dataclass
class Stats:
    """What the filter saw during one run."""

    allowed: int = 0
    denied: int = 0
    bytes_out: int = 0
    upstream_failures: int = 0
    upstream_5xx: int = 0
    denied_samples: list[str] = field(default_factory=list)
    failure_samples: list[str] = field(default_factory=list)


def decide(route: Route, method: str, raw_path: str) -> str | None:
    """None when ``method raw_path`` reads ``route``'s service, else the reason to refuse it.

    Parameters
    ----------
    route : Route
    method : str
    raw_path : str
        The request target as sent (path and query, still percent-encoded).

    Returns
    -------
    str or None
    """
    if not raw_path.startswith("/") or raw_path.startswith("//"):
        return "only origin-form request targets (/path) are allowed"
    parts = urlsplit(raw_path)
    path = parts.path
    prefix = urlsplit(route.upstream).path.rstrip("/")
    lowered = path.lower()
    if "\\" in path or "%2f" in lowered or "%5c" in lowered or "%2e" in lowered:
        return "encoded slashes and dots are not allowed"
    if any(seg in (".", "..") for seg in path.split("/")):
        return "dot segments are not allowed"
    if not (path == prefix or path.startswith(prefix + "/")):
        return f"only paths under {prefix or '/'} are served"
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if route.name == "blob":
        if method not in ("GET", "HEAD"):
            return f"{method} is not allowed: blobs are read-only (GET, HEAD) during grading"
        if "sig" in query:
            return "signed (SAS) requests are not allowed"
        return None
    if route.name == "stac":
        if method in ("GET", "HEAD") or (method == "POST" and path == f"{prefix}/search"):
            return None
        return f"{method} {path} is not allowed: the catalog is read-only (GET, HEAD, POST /search) during grading"
    return f"unknown route {route.name}"


async def _handle(request, route: Route, session, stats: Stats):
    from aiohttp import ClientError, web
    from yarl import URL

    raw = request.raw_path
    reason = decide(route, request.method, raw)
    if reason is not None:
        stats.denied += 1
        if len(stats.denied_samples) < 20:
            stats.denied_samples.append(f"{route.name}: {request.method} {raw[:200]} ({reason})")
        return web.Response(status=403, text=f"grading network filter: {reason}\n")
    body = None
    if request.method == "POST":
        if request.content_length is None or request.content_length > MAX_BODY:
            stats.denied += 1
            return web.Response(status=413, text="grading network filter: a POST needs a Content-Length <= 1 MB\n")
        body = await request.read()
    headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED_HEADERS}
    prefix = urlsplit(route.upstream).path.rstrip("/")
    url = URL(route.upstream.rstrip("/") + raw[len(prefix):], encoded=True)
    try:
        async with session.request(request.method, url, headers=headers, data=body, allow_redirects=False,
                                   auto_decompress=False) as up:
            if up.status >= 500:
                stats.upstream_5xx += 1
                if len(stats.failure_samples) < 20:
                    stats.failure_samples.append(f"{route.name}: {request.method} {raw[:200]}: HTTP {up.status}")
            resp = web.StreamResponse(status=up.status, reason=up.reason)
            for k, v in up.headers.items():
                if k.lower() not in _HOP_HEADERS:
                    resp.headers.add(k, v)
            if up.content_length is not None:
                resp.content_length = up.content_length
            await resp.prepare(request)
            if request.method != "HEAD":
                async for chunk in up.content.iter_chunked(262144):
                    stats.bytes_out += len(chunk)
                    await resp.write(chunk)
            await resp.write_eof()
            stats.allowed += 1
            return resp
    except (ClientError, asyncio.TimeoutError, ConnectionError) as err:
        stats.upstream_failures += 1
        if len(stats.failure_samples) < 20:
            stats.failure_samples.append(f"{route.name}: {request.method} {raw[:200]}: {type(err).__name__}")
        if request.transport is None or request.transport.is_closing():
            raise
        return web.Response(status=502, text=f"grading network filter: the stand-in's {route.name} service "
                                             "did not answer\n")


async def serve(routes: list[Route], ready=lambda: None) -> Stats:
    """Serve ``routes`` until SIGTERM or SIGINT.

    Parameters
    ----------
    routes : list of Route
    ready : callable
        Called once every socket listens.

    Returns
    -------
    Stats
    """
    import aiohttp
    from aiohttp import web

    stats = Stats()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    timeout = aiohttp.ClientTimeout(total=None, connect=10, sock_read=120)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=64),
                                     skip_auto_headers=("User-Agent",)) as session:
        runners = []
        for route in routes:
            app = web.Application(client_max_size=MAX_BODY)
            app.router.add_route("*", "/{tail:.*}", lambda r, route=route: _handle(r, route, session, stats))
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            if os.path.exists(route.socket):
                os.unlink(route.socket)
            await web.UnixSite(runner, route.socket).start()
            os.chmod(route.socket, 0o666)  # the sandbox uid connects; the folder holding it is 0711
            runners.append(runner)
        ready()
        await stop.wait()
        for runner in runners:
            await runner.cleanup()
    return stats


def main(argv: list[str] | None = None) -> int:
    """``netfilter.py CONFIG``: CONFIG is JSON ``{"routes": [{name, socket, upstream}]}``.

    Parameters
    ----------
    argv : list of str, optional
        ``[CONFIG]``; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0.
    """
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0]) as f:
        routes = [Route(**r) for r in json.load(f)["routes"]]
    stats = asyncio.run(serve(routes, ready=lambda: print("ready", flush=True)))
    print(json.dumps(asdict(stats)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
