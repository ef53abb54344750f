"""Photo files on disk: one file per sha256 under the uploads directory, written so a crash loses nothing."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def photo_path(uploads: Path, sha256: str) -> Path:
    return uploads / sha256[:2] / sha256


def write_durably(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size == len(data):
        return
    tmp = path.with_suffix(f".{os.getpid()}.{uuid.uuid4().hex}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)  # the rename itself must survive a crash too
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
