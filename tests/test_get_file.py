"""utils.get_file: downloads (here from file:// URLs) into the cache under Keras 3's paths,
reuses a cached file, checks sha256/md5 hashes (re-downloading a stale file, refusing a
corrupt download and leaving nothing behind), extracts tar and zip archives, and refuses
archive members that would land outside the extraction directory."""

import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from eigennet import utils
from eigennet.utils import file_utils


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    return tmp_path / "home" / "datasets"


def _served(tmp_path: Path, name: str, data: bytes) -> str:
    source = tmp_path / "server"
    source.mkdir(exist_ok=True)
    (source / name).write_bytes(data)
    return (source / name).as_uri()


def test_download_into_the_cache_then_reuse(tmp_path, cache):
    url = _served(tmp_path, "data.csv", b"a,b\n1,2\n")
    path = utils.get_file(origin=url)
    assert path == str(cache / "data.csv")
    assert Path(path).read_bytes() == b"a,b\n1,2\n"
    (tmp_path / "server" / "data.csv").write_bytes(b"changed")
    assert utils.get_file(origin=url) == path  # cached: not fetched again
    assert Path(path).read_bytes() == b"a,b\n1,2\n"
    assert Path(utils.get_file(origin=url, force_download=True)).read_bytes() == b"changed"
    named = utils.get_file("renamed.csv", url, cache_subdir="mine")
    assert named == str(cache.parent / "mine" / "renamed.csv")


def test_hashes_are_checked(tmp_path, cache):
    data = b"payload" * 100
    url = _served(tmp_path, "blob.bin", data)
    sha, md5 = hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest()
    path = utils.get_file(origin=url, file_hash=sha)
    assert file_utils.validate_file(path, sha) and file_utils.validate_file(path, md5)
    assert utils.get_file(origin=url, md5_hash=md5) == path
    Path(path).write_bytes(b"stale")  # a cached file with the wrong hash is fetched again
    assert Path(utils.get_file(origin=url, file_hash=sha)).read_bytes() == data
    with pytest.raises(ValueError, match="Incomplete or corrupted"):
        utils.get_file("other.bin", url, file_hash="0" * 64)
    assert not (cache / "other.bin").exists()
    assert not list(cache.glob("*.part"))


def _tar_gz(members: dict) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _zip(members: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def test_archives_are_extracted_where_keras_puts_them(tmp_path, cache):
    tar_url = _served(tmp_path, "flowers.tgz", _tar_gz({"flowers/a.txt": b"rose"}))
    path = utils.get_file("flowers", origin=tar_url, untar=True)
    assert path == str(cache / "flowers")
    assert (cache / "flowers" / "flowers" / "a.txt").read_bytes() == b"rose"
    assert (cache / "flowers_archive").exists()
    zip_url = _served(tmp_path, "words.zip", _zip({"w/b.txt": b"tulip"}))
    path = utils.get_file("words.zip", origin=zip_url, extract=True)
    assert path == str(cache / "words_extracted")
    assert (cache / "words_extracted" / "w" / "b.txt").read_bytes() == b"tulip"
    path = utils.get_file(origin=zip_url, extract=True, cache_subdir="other")  # the URL's name
    assert path == str(cache.parent / "other" / "words.zip")
    assert (cache.parent / "other" / "words.zip" / "w" / "b.txt").read_bytes() == b"tulip"


@pytest.mark.parametrize(
    "name, data",
    [
        ("evil.tgz", _tar_gz({"../escaped.txt": b"x"})),
        ("evil.zip", _zip({"../escaped.txt": b"x"})),
        ("abs.tgz", _tar_gz({"/tmp/escaped_abs.txt": b"x"})),
    ],
)
def test_members_outside_the_extraction_directory_are_refused(tmp_path, cache, name, data):
    url = _served(tmp_path, name, data)
    with pytest.raises(ValueError, match="outside"):
        utils.get_file(name, origin=url, extract=True)
    assert not (cache / "escaped.txt").exists()
    assert not os.path.exists("/tmp/escaped_abs.txt") or name != "abs.tgz"


def test_bad_arguments_raise(tmp_path, cache):
    with pytest.raises(ValueError, match="origin"):
        utils.get_file("x")
    with pytest.raises(ValueError, match="Paths are no longer accepted"):
        utils.get_file(os.path.join("a", "b"), origin=_served(tmp_path, "b", b"1"))
    with pytest.raises(Exception, match="URL fetch failure"):
        utils.get_file("missing", origin=(tmp_path / "nothing_here").as_uri())
    assert not (cache / "missing").exists()
