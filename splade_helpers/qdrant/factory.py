"""Choose the engine by argument or environment, never by editing code."""

from __future__ import annotations

import os

from ..validation import check_choice
from .store import QdrantStore

ENGINES = ("edge", "server", "local")


def default_engine() -> str:
    """``"server"`` when ``$QDRANT_URL`` is set, else ``"edge"`` (Qdrant Edge in this process).

    Not called by the notebooks; used by qdrant.open_store and python -m splade_helpers.qdrant.
    """
    return "server" if os.environ.get("QDRANT_URL") else "edge"


def open_store(path: str | os.PathLike | None = None, collection: str = "course", *, engine: str | None = None,
               url: str | None = None, **kwargs) -> QdrantStore:
    """A store with the course's layout on the chosen engine.

    Introduced in notebook 00 (section "The reference article").

    Args:
        path: the folder for ``edge`` (``None``: a temporary one) or ``local``; ignored by ``server``.
        engine: ``"edge"`` (Qdrant's engine in this process), ``"server"`` (``url`` or ``$QDRANT_URL``,
            with ``$QDRANT_API_KEY``) or ``"local"`` (qdrant-client's pure-Python local mode);
            default :func:`default_engine`. ``url`` alone implies ``"server"``.
        kwargs: passed to the store (``splade``, ``dense``, ``wal`` for Edge, ...).
    """
    engine = check_choice(engine or ("server" if url else default_engine()), "engine", ENGINES)
    if engine == "edge":
        from .edge import EdgeStore

        return EdgeStore(path, collection, **kwargs)
    from .client import ClientStore, local_client, server_client

    if engine == "server":
        if not (url or os.environ.get("QDRANT_URL")):
            raise ValueError("engine='server' needs url=... or the QDRANT_URL environment variable "
                             "(e.g. http://localhost:6333); use engine='edge' without a server.")
        client = server_client(url) if url else server_client(os.environ["QDRANT_URL"], name="QDRANT_URL")
        return ClientStore(client, collection, **kwargs)
    return ClientStore(local_client(path), collection, **kwargs)
