"""`keras.utils.get_file`: a file downloaded once into Keras's cache (`$KERAS_HOME` or
`~/.keras`, under `datasets`), checked against a hash, and extracted when it is an archive,
with Keras 3's arguments and paths.

Downloads go to a temporary file renamed into place when complete, so an interrupted one
leaves nothing behind. Archives are extracted member by member: a member whose path leaves
the extraction directory (`../`, an absolute path, a link pointing outside) is refused."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile


def keras_home() -> str:
    """Keras's cache root: `$KERAS_HOME`, else `~/.keras`."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def _hasher(algorithm: str, file_hash: str | None):
    if algorithm == "sha256" or (algorithm == "auto" and file_hash and len(file_hash) == 64):
        return hashlib.sha256()
    if algorithm in ("md5", "auto"):
        return hashlib.md5()  # noqa: S324 (Keras's legacy checksums)
    raise ValueError(f"hash_algorithm must be 'auto', 'sha256' or 'md5', got {algorithm!r}")


def hash_file(fpath, algorithm="sha256", chunk_size=65535) -> str:
    """The hex digest of a file (sha256 or md5), read in chunks."""
    hasher = _hasher(algorithm, None) if algorithm != "auto" else hashlib.sha256()
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535) -> bool:
    """Whether the file's hash is `file_hash` ("auto": sha256 for 64 hex digits, else md5)."""
    hasher = _hasher(algorithm, file_hash)
    name = "sha256" if hasher.name == "sha256" else "md5"
    return hash_file(fpath, name, chunk_size) == str(file_hash)


def _inside(base: str, target: str) -> bool:
    base = os.path.realpath(base)
    return os.path.commonpath([base, os.path.realpath(target)]) == base


def _extract_tar(archive: tarfile.TarFile, path: str) -> None:
    for member in archive.getmembers():
        target = os.path.join(path, member.name)
        link = member.issym() or member.islnk()
        points_to = os.path.join(os.path.dirname(target), member.linkname) if link else target
        if not _inside(path, target) or (link and not _inside(path, points_to)):
            raise ValueError(f"Archive member {member.name!r} would land outside {path!r}")
        if member.isdev():
            raise ValueError(f"Archive member {member.name!r} is a device file")
    archive.extractall(path, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))


def _extract_zip(archive: zipfile.ZipFile, path: str) -> None:
    for name in archive.namelist():
        if not _inside(path, os.path.join(path, name)):
            raise ValueError(f"Archive member {name!r} would land outside {path!r}")
    archive.extractall(path)


def extract_archive(file_path, path=".", archive_format="auto") -> bool:
    """Extracts a tar (.tar, .tar.gz, .tar.bz2) or zip archive into `path`; False when the
    file is none of `archive_format` ("auto": tar or zip; None: none)."""
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else archive_format
    formats = [formats] if isinstance(formats, str) else list(formats)
    file_path, path = os.fspath(file_path), os.fspath(path)
    for kind in formats:
        if kind not in ("tar", "zip"):
            raise NotImplementedError(kind)
        if not (tarfile.is_tarfile if kind == "tar" else zipfile.is_zipfile)(file_path):
            continue
        opener = tarfile.open if kind == "tar" else zipfile.ZipFile
        try:
            with opener(file_path) as archive:
                (_extract_tar if kind == "tar" else _extract_zip)(archive, path)
        except BaseException:
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)
            raise
        return True
    return False


def _download(origin: str, target: str) -> None:
    from eigennet.utils.progbar import Progbar

    print(f"Downloading data from {origin}")
    handle, partial = tempfile.mkstemp(dir=os.path.dirname(target), suffix=".part")
    os.close(handle)
    bar = None
    try:
        with urllib.request.urlopen(origin) as response, open(partial, "wb") as out:  # noqa: S310
            size = response.headers.get("Content-Length")
            total = int(size) if size and size.isdigit() else None
            bar = Progbar(total)
            done = 0
            for chunk in iter(lambda: response.read(1 << 16), b""):
                out.write(chunk)
                done += len(chunk)
                bar.update(min(done, total) if total else done)
        os.replace(partial, target)
    except urllib.error.HTTPError as e:
        raise Exception(f"URL fetch failure on {origin}: {e.code} -- {e.msg}") from None
    except urllib.error.URLError as e:
        raise Exception(f"URL fetch failure on {origin}: {e.errno} -- {e.reason}") from None
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def get_file(
    fname=None,
    origin=None,
    untar=False,
    md5_hash=None,
    file_hash=None,
    cache_subdir="datasets",
    hash_algorithm="auto",
    extract=False,
    archive_format="auto",
    cache_dir=None,
    force_download=False,
):
    """Downloads `origin` into the cache unless it is there already (and matches
    `file_hash`); returns its path, or with `extract=True` the directory it was extracted
    into (`<fname>` when fname has no extension, else `<fname without it>_extracted`; the
    archive itself is kept as `<fname>_archive` or `fname`), as Keras 3."""
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    base = os.path.expanduser(cache_dir if cache_dir is not None else keras_home())
    try:
        os.makedirs(base, exist_ok=True)
        writable = os.access(base, os.W_OK)
    except OSError:
        writable = False
    if not writable:  # (as Keras: the temporary directory's .keras instead)
        base = os.path.join(tempfile.gettempdir(), ".keras")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)

    given = fname is not None and os.fspath(fname) != ""
    fname = os.fspath(fname) if given else os.path.basename(urllib.parse.urlsplit(origin).path)
    if not fname:
        raise ValueError(
            f"Can't parse the file name from the origin provided: '{origin}'. Please specify "
            "the `fname` argument."
        )
    if given and os.sep in fname:
        raise ValueError(
            "Paths are no longer accepted as the `fname` argument. To specify the file's "
            f"parent directory, use the `cache_dir` argument. Received: fname={fname}"
        )
    if extract or untar:
        if given and "." in fname:
            target = os.path.join(datadir, fname)
            extraction_dir = os.path.join(datadir, f"{fname[: fname.find('.')]}_extracted")
        else:
            target = os.path.join(datadir, f"{fname}_archive")
            extraction_dir = os.path.join(datadir, fname)
    else:
        target = os.path.join(datadir, fname)

    fresh = force_download or not os.path.exists(target)
    if not fresh and file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
        print(
            "A local file was found, but it seems to be incomplete or outdated because the "
            f"{hash_algorithm} file hash does not match the original value of {file_hash} so "
            "we will re-download the data."
        )
        fresh = True
    if fresh:
        _download(origin, target)
        if file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
            os.remove(target)
            raise ValueError(
                f"Incomplete or corrupted file detected. The {hash_algorithm} file hash does "
                f"not match the provided value of {file_hash}."
            )
    if extract or untar:
        if not extract_archive(target, extraction_dir, "tar" if untar else archive_format):
            warnings.warn("Could not extract archive.", stacklevel=2)
        return extraction_dir
    return target
