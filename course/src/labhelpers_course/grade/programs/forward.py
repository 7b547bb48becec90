"""Inside the student sandbox: listen on 127.0.0.1:<port>, pipe each connection to a unix socket.

The sandbox has its own network namespace (only its own loopback), so the stand-in's URLs
(``http://127.0.0.1:P/...``) lead nowhere by themselves. The grader binds one unix socket per
service into the sandbox; each is served on the host by the filter (``netfilter.py``). This
forwarder only moves bytes: a submission may kill or replace it and then simply has no
network; every decision is taken on the host side of the socket.
"""

from __future__ import annotations

import asyncio
import threading

__all__ = ["start"]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(262144):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            writer.close()


async def _serve(port: int, socket_path: str) -> asyncio.AbstractServer:
    async def handle(reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(socket_path)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        writer.close()
        up_writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", port, reuse_address=True)


def start(routes: dict[int, str]) -> threading.Thread:
    """Serve every ``port -> unix socket`` route from a daemon thread; return once listening.

    Parameters
    ----------
    routes : dict of int to str
        Loopback port -> unix socket path.

    Returns
    -------
    threading.Thread

    Raises
    ------
    OSError
        A port could not be bound.
    """
    ready = threading.Event()
    failure: list[BaseException] = []

    def main() -> None:
        loop = asyncio.new_event_loop()
        try:
            for port, path in routes.items():
                loop.run_until_complete(_serve(port, path))
        except BaseException as err:  # reported to the caller, which stops the run
            failure.append(err)
            ready.set()
            return
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=main, name="grading-forward", daemon=True)
    thread.start()
    ready.wait(30)
    if failure:
        raise failure[0]
    return thread
