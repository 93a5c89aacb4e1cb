"""The store's SQLite schema, and opening it for writing or for reading.

One file, ``synscope.db`` in the store's directory (``-wal`` and ``-shm`` beside it while a
recorder runs), or a single-file recording (``synscope dump --format recording``), which has
the same tables and no WAL.

Tables (``tick`` is a global tick index; ticks ``chunk * chunk_ticks`` up to the next chunk
belong to one chunk, and a recorder session starts at a fresh chunk):

* ``meta``: format version, chunk size, interval, host name;
* ``keys``: counter names (``TcpExt.ListenDrops``) and their small ids;
* ``namespaces``: one row per namespace per recorder session: inode, namespace id (the
  kernel's never-reused id, so a restarted container with a recycled inode is a new row),
  first and last tick;
* ``names``: a namespace's identity and names (kind, name, pod, labels…, as JSON) from a
  tick on, written whenever discovery changes them;
* ``tick_chunks``: the tick times of each sealed chunk; ``open_ticks``: one row per tick of
  the chunk being written (time and the moved counters), committed every tick;
* ``chunks``: a namespace's counters over a sealed chunk; ``keyframes``: its absolute values
  after a tick (at its first sample, then every ``keyframe_chunks`` chunks if it moved);
* ``statuses`` and ``notes``: the discovery sources' statuses and the notes, on change;
* ``sysctls``: a namespace's relevant sysctls, once and on change.
"""

from __future__ import annotations

import os
import sqlite3

__all__ = ["DB_NAME", "FORMAT", "SCHEMA", "connect_read", "connect_write", "db_path"]

FORMAT = 1
DB_NAME = "synscope.db"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS namespaces (
    id INTEGER PRIMARY KEY, inode INTEGER NOT NULL, ns_id INTEGER NOT NULL,
    first_tick INTEGER NOT NULL, last_tick INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS namespaces_ticks ON namespaces (last_tick);
CREATE TABLE IF NOT EXISTS names (
    ns INTEGER NOT NULL, tick INTEGER NOT NULL, identity TEXT NOT NULL, PRIMARY KEY (ns, tick));
CREATE TABLE IF NOT EXISTS tick_chunks (
    chunk INTEGER PRIMARY KEY, first_time REAL NOT NULL, last_time REAL NOT NULL, times BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS open_ticks (tick INTEGER PRIMARY KEY, time REAL NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    ns INTEGER NOT NULL, chunk INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (chunk, ns)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunks_by_ns ON chunks (ns, chunk);
CREATE TABLE IF NOT EXISTS keyframes (
    ns INTEGER NOT NULL, tick INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (ns, tick)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS statuses (tick INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notes (tick INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sysctls (
    ns INTEGER NOT NULL, tick INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (ns, tick));
"""


def db_path(path: str) -> str:
    """A store directory's database, or a recording file as it is."""
    return os.path.join(path, DB_NAME) if os.path.isdir(path) else path


def connect_write(path: str) -> sqlite3.Connection:
    """The recorder's connection: WAL, every commit fsynced (synchronous=FULL)."""
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("PRAGMA wal_autocheckpoint=0")  # the writer checkpoints after each chunk
    con.executescript(SCHEMA)
    return con


def connect_read(path: str) -> sqlite3.Connection:
    """Read only. A store being written (its ``-wal`` beside it) is opened so that the
    recorder's latest commits are seen; a recording file, or a store in a directory we may
    not write (not root), is opened immutable: nothing is created beside it."""
    wal = path + "-wal"
    writable_dir = os.access(os.path.dirname(os.path.abspath(path)) or ".", os.W_OK)
    if os.path.exists(wal) and writable_dir:
        uri = f"file:{_quote(path)}?mode=ro"
    else:
        uri = f"file:{_quote(path)}?mode=ro&immutable=1"
    con = sqlite3.connect(uri, uri=True, check_same_thread=False)
    con.execute("PRAGMA query_only=1")
    return con


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(os.path.abspath(path))
