"""The recorder's store: what ``synscope record`` writes and replay, dump and the live TUI read.

* :mod:`.schema` — the SQLite tables, opening for writing (WAL, synchronous=FULL) or reading;
* :mod:`.codec` — the compressed blobs (chunks of packed deltas, keyframes, tick times);
* :mod:`.writer` — :class:`StoreWriter`: a tick per transaction, chunks, retention, full disk;
* :mod:`.reader` — :class:`Store`: the read-only API (its docstring lists it);
* :mod:`.lock` — one recorder per directory;
* :mod:`.dump` — rows for csv/json, and the single-file recording of a slice.

Why SQLite: it is in Python's standard library (nothing to install on a node), its WAL with
``synchronous=FULL`` makes each tick's commit durable and a torn tail harmless (WAL frames
are checksummed), readers never block the writer, and a store is one file that a recording
can share the format of. The size comes from the encoding, not the engine: a namespace's
deltas over a chunk of ticks are a dense int64 matrix of the keys that moved, zlib-packed.
"""
