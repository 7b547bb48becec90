"""Put the archive's STAC collections and items into pgstac, pointed at this run's blob server.

The archive stores items exactly as MPC serves them (Azure Blob hrefs, MPC API links). Loading
is where they become *local*: every asset href goes through :func:`localize_href` to the
Azurite URL of this run, and the links the API generates itself (self, root, parent,
collection, items) are dropped so no MPC API URL survives. The API adds its own at request time.

Loading is skipped when nothing changed. A fingerprint of the archive's STAC files plus the
blob URL is stored **inside the database** (``labhelpers.loaded``) after a successful load, so
it can never disagree with the data: a load interrupted half-way leaves the old fingerprint,
and the next ``up`` loads again. That is what keeps a warm ``up`` fast.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from labhelpers_standin.archive.layout import localize_href

__all__ = ["fingerprint", "localize", "migrate", "load"]

API_LINKS = {"self", "root", "parent", "collection", "items"}


def fingerprint(root: Path, blob_url: str) -> str:
    """Identify what a load would produce: STAC file names, sizes and mtimes, and the blob URL.

    Parameters
    ----------
    root : pathlib.Path
        The archive folder.
    blob_url : str
        The ``{account}`` URL template of this run's blob server.

    Returns
    -------
    str
        A SHA-256 hex digest.
    """
    h = hashlib.sha256(blob_url.encode())
    for p in sorted((root / "stac").rglob("*.json*")):
        st = p.stat()
        h.update(f"{p.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def localize(obj: dict, blob_url: str) -> dict:
    """A collection or item with local asset hrefs and without the links the API generates.

    Parameters
    ----------
    obj : dict
        A STAC collection or item as the archive stores it (MPC hrefs).
    blob_url : str
        The ``{account}`` URL template of this run's blob server.

    Returns
    -------
    dict
        A new dict; ``obj`` is not changed.
    """
    obj = dict(obj)
    obj["links"] = [
        {**link, "href": localize_href(link["href"], blob_url)}
        for link in obj.get("links", [])
        if link.get("rel") not in API_LINKS
    ]
    for key in ("assets", "item_assets"):
        if key in obj:
            obj[key] = {
                k: ({**a, "href": localize_href(a["href"], blob_url)} if "href" in a else a)
                for k, a in obj[key].items()
            }
    return obj


def _collections(root: Path, blob_url: str) -> list[dict]:
    return [localize(json.loads(p.read_text()), blob_url) for p in sorted((root / "stac" / "collections").glob("*.json"))]


def _items(root: Path, blob_url: str) -> Iterator[dict]:
    for p in sorted((root / "stac" / "items").glob("*.ndjson")):
        with open(p) as f:
            for line in f:
                if line.strip():
                    yield localize(json.loads(line), blob_url)


def migrate(dsn: str) -> str:
    """Install or upgrade the pgstac schema to pypgstac's version (a no-op when already there).

    Parameters
    ----------
    dsn : str
        The database's connection string (it holds the password: never print it).

    Returns
    -------
    str
        The pgstac version now installed.
    """
    from pypgstac.db import PgstacDB
    from pypgstac.migrate import Migrate

    with PgstacDB(dsn=dsn) as db:
        return Migrate(db).run_migration()


def load(dsn: str, root: Path, blob_url: str) -> bool:
    """Make pgstac hold exactly the archive at ``root`` with hrefs on ``blob_url``.

    Every collection is deleted with its items (a rebuilt archive may have fewer), then the archive's
    collections and items are upserted with pypgstac's loader (COPY into partitions, partition
    statistics refreshed: fast for thousands of items).

    Parameters
    ----------
    dsn : str
        The database's connection string.
    root : pathlib.Path
        The archive folder.
    blob_url : str
        The ``{account}`` URL template of this run's blob server.

    Returns
    -------
    bool
        False when the recorded fingerprint already matched (nothing loaded).
    """
    import psycopg
    from pypgstac.db import PgstacDB
    from pypgstac.load import Loader, Methods

    want = fingerprint(root, blob_url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS labhelpers")
        conn.execute("CREATE TABLE IF NOT EXISTS labhelpers.loaded (fingerprint text NOT NULL)")
        if conn.execute("SELECT 1 FROM labhelpers.loaded WHERE fingerprint = %s", (want,)).fetchone():
            return False
        conn.execute("DELETE FROM labhelpers.loaded")

    with PgstacDB(dsn=dsn) as db:
        db.query_one("SELECT count(*) FROM (SELECT delete_collection(id) FROM collections) d")
        loader = Loader(db=db)
        loader.load_collections(iter(_collections(root, blob_url)), Methods.upsert)
        loader.load_items(_items(root, blob_url), Methods.upsert)

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO labhelpers.loaded VALUES (%s)", (want,))
    return True
