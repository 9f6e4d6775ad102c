"""Download a completed task's files, each checked against the sha256 the task records.

Where they go: one file is written to `--output FILE` (default `<task_uuid>.<ext>` here).
A task split into several files writes them all, numbered before the extension:
`--output a.json` gives `a-0001.json`, `a-0002.json`, ... An `--output` that is an
existing directory (or ends with `/`) gets the default names inside it. A file is written
under a temporary name and renamed only once its sha256 matched, so a failed or
mismatched download leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
import urllib3

from mailexports_cli.client.errors import ApiUnavailable, TaskUnsuccessful, UsageError

if TYPE_CHECKING:  # rich only when a bar is drawn
    from mailexports_cli.client.progress import DownloadProgress

CHUNK_BYTES = 1 << 20
TIMEOUT = (10.0, 120.0)
_EXTENSIONS = {"json": "json", "ndjson": "ndjson", "csv": "csv"}


@dataclass(frozen=True)
class Downloaded:
    path: Path
    bytes: int
    records: int
    sha256: str
    verified: bool  # False only if the task gave no sha256 to compare with


def extension(task: dict[str, Any]) -> str:
    ext = _EXTENSIONS.get(str(task.get("format") or "json"), "dat")
    return f"{ext}.gz" if task.get("compression") == "gzip" else ext


def output_paths(task: dict[str, Any], output: Path | None, count: int) -> list[Path]:
    """Where each of the task's `count` files goes (see the module's docstring)."""
    ext = extension(task)
    uuid = str(task["task_uuid"])
    if output is None or output.is_dir() or str(output).endswith(os.sep):
        folder = output or Path()
        if count == 1:
            return [folder / f"{uuid}.{ext}"]
        return [folder / f"{uuid}-{n:04d}.{ext}" for n in range(1, count + 1)]
    if count == 1:
        return [output]
    # Number before the whole extension: a.json.gz -> a-0001.json.gz.
    name = output.name
    stem, dot, suffixes = name.partition(".")
    return [output.with_name(f"{stem}-{n:04d}{dot}{suffixes}") for n in range(1, count + 1)]


def check_writable(output: Path | None) -> None:
    """Fail before submitting an export whose file could not be written anyway."""
    if output is None:
        return
    folder = output if output.is_dir() or str(output).endswith(os.sep) else output.parent
    if not folder.is_dir():
        raise UsageError(f"--output {output}: no such directory {str(folder)!r}")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"--output {output}: cannot write in {str(folder)!r}")


def download_task(
    task: dict[str, Any],
    output: Path | None,
    progress: DownloadProgress,
    session: requests.Session | None = None,
) -> list[Downloaded]:
    status = task.get("status")
    files = task.get("files") or []
    if status != "completed" or not files:
        raise TaskUnsuccessful(f"task {task.get('task_uuid')} has no file to download (status {status})")
    check_writable(output)
    # Signed URLs are for S3, a plain session: the API key must not travel with them.
    session = session or requests.Session()
    return [
        fetch(file, path, progress, session)
        for file, path in zip(files, output_paths(task, output, len(files)), strict=True)
    ]


def fetch(
    file: dict[str, Any], path: Path, progress: DownloadProgress, session: requests.Session
) -> Downloaded:
    url = file.get("url")
    if not url:
        raise TaskUnsuccessful(f"{path}: the task gives no download URL for this file")
    expected = str(file.get("sha256") or "")
    bar = progress.add(path.name, file.get("bytes"))
    # A name of our own, opened exclusively: the file gets the usual permissions (umask).
    temp_path = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        temp = temp_path.open("xb")
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        digest, size = hashlib.sha256(), 0
        with temp:
            for chunk in _chunks(session, str(url), path):
                temp.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                progress.advance(bar, len(chunk))
        actual = digest.hexdigest()
        if expected and actual != expected:
            raise TaskUnsuccessful(
                f"{path}: sha256 {actual} does not match the task's {expected}; the file was not kept"
            )
        os.replace(temp_path, path)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        temp_path.unlink(missing_ok=True)
    return Downloaded(path, size, int(file.get("records") or 0), actual, verified=bool(expected))


def _chunks(session: requests.Session, url: str, path: Path) -> Iterator[bytes]:
    try:
        with session.get(url, stream=True, timeout=TIMEOUT) as response:
            if response.status_code != 200:
                raise ApiUnavailable(f"{path}: the file's download URL answered HTTP {response.status_code}")
            # The bytes as stored: a gzip file is served with Content-Encoding: gzip, and its
            # sha256 is of the compressed bytes, so nothing may be decoded on the way.
            yield from response.raw.stream(CHUNK_BYTES, decode_content=False)
    except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
        raise ApiUnavailable(f"{path}: the download failed: {type(error).__name__}") from None
