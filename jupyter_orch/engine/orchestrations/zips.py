"""Validation and safe unpacking of orchestration zips.

Everything a caller can get wrong is found here, before anything is stored: not a zip, a
truncated or corrupt zip, encrypted entries, compression methods Python cannot read, no main.py,
two requirements.txt, unsafe paths or symlinks, and zip bombs (size, count and ratio limits).
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import Invalid, TooLarge

# A small archive cannot be a bomb whatever its ratio (a CSV of zeros compresses a thousandfold):
# the ratio limit only guards archives that unpack to more than this.
RATIO_CHECKED_ABOVE = 1024 * 1024
STAGING_PREFIX = ".unpack-"  # a tree being unpacked; one left by a crash is removed at start-up


@dataclass(frozen=True)
class ZipLimits:
    max_unpacked_bytes: int
    max_files: int
    max_compression_ratio: float = 200.0  # unpacked size / compressed size, whole archive


# What reading a member can raise besides BadZipFile: an encrypted member (RuntimeError), a
# compression method this Python lacks (NotImplementedError), a corrupt stream (zlib.error,
# EOFError, lzma/bz2 errors are OSError or ValueError).
READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError, zlib.error,
               EOFError, OSError, ValueError)


@dataclass(frozen=True)
class ZipManifest:
    entrypoint: str
    requirements: str
    files: int
    unpacked_bytes: int


def inspect_zip(data: bytes | Path, limits: ZipLimits, entrypoint: str | None = None) -> ZipManifest:
    """`entrypoint`: the member to run (a `.py` or `.ipynb`), else the one `find_entrypoint` finds."""
    try:
        return _inspect(data, limits, entrypoint)
    except (Invalid, TooLarge):
        raise
    except READ_ERRORS as e:
        raise Invalid(f"the zip archive cannot be read: {_describe(e)}") from None


def _inspect(data: bytes | Path, limits: ZipLimits, wanted: str | None) -> ZipManifest:
    with _open(data) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        _check_entries(archive.infolist())
        if len(infos) > limits.max_files:
            raise TooLarge(f"the zip holds {len(infos)} files; the limit is {limits.max_files}")
        total = sum(i.file_size for i in infos)
        if total > limits.max_unpacked_bytes:
            raise TooLarge(
                f"the zip unpacks to {total} bytes; the limit is {limits.max_unpacked_bytes}"
            )
        compressed = sum(i.compress_size for i in infos)
        if total > RATIO_CHECKED_ABOVE and total > limits.max_compression_ratio * max(compressed, 1):
            raise TooLarge(
                f"the zip unpacks to {total / max(compressed, 1):.0f} times its compressed size; "
                f"the limit is {limits.max_compression_ratio:g}"
            )
        if archive.testzip() is not None:
            raise Invalid("the zip archive is corrupt (a member fails its CRC check)")
        names = sorted(i.filename for i in infos if not _is_metadata(i.filename))
        entrypoint = find_entrypoint(names) if wanted is None else _named_entrypoint(names, wanted)
        requirement_files = [n for n in names if PurePosixPath(n).name == "requirements.txt"]
        if len(requirement_files) > 1:
            raise Invalid(
                "the zip holds more than one requirements.txt: " + ", ".join(requirement_files)
            )
        requirements = ""
        if requirement_files:
            try:
                requirements = archive.read(requirement_files[0]).decode("utf-8")
            except UnicodeDecodeError:
                raise Invalid("requirements.txt is not UTF-8 text") from None
    return ZipManifest(entrypoint, requirements, len(infos), total)


def _describe(error: BaseException) -> str:
    if isinstance(error, RuntimeError) and "encrypted" in str(error):
        return "it holds encrypted (password-protected) entries, which are not supported"
    if isinstance(error, NotImplementedError):
        return f"it uses a compression method that is not supported ({error}); use deflate"
    if isinstance(error, zipfile.BadZipFile) and str(error).startswith("File is not a zip"):
        return "it is not a valid zip archive"
    return f"it is corrupt or truncated ({error or type(error).__name__})"


def _check_entries(infos: list[zipfile.ZipInfo]) -> None:
    for info in infos:
        name = info.filename
        path = PurePosixPath(name.replace("\\", "/"))
        if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
            raise Invalid(f"the zip entry '{name}' has an absolute path")
        if ".." in path.parts:
            raise Invalid(f"the zip entry '{name}' points outside the archive ('..')")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise Invalid(f"the zip entry '{name}' is a symbolic link; links are not allowed")


def _is_metadata(name: str) -> bool:
    return name.startswith("__MACOSX/") or PurePosixPath(name).name == ".DS_Store"


ENTRYPOINTS = ("main.py", "main.ipynb")  # a script first, else a notebook (compat/notebook_run.py)


def find_entrypoint(names: list[str]) -> str:
    """main.py at the root, else main.ipynb there, else the first of either in a subdirectory,
    in sorted order."""
    for name in ENTRYPOINTS:
        if name in names:
            return name
    for name in ENTRYPOINTS:
        nested = sorted(n for n in names if PurePosixPath(n).name == name)
        if nested:
            return nested[0]
    raise Invalid("the zip holds no main.py or main.ipynb (at the root or in a subdirectory)")


def _named_entrypoint(names: list[str], wanted: str) -> str:
    if PurePosixPath(wanted).suffix not in (".py", ".ipynb"):
        raise Invalid(f"the entrypoint '{wanted[:200]}' must be a .py script or a .ipynb notebook")
    if wanted not in names:
        raise Invalid(f"the zip holds no '{wanted[:200]}' to run")
    return wanted


def _open(data: bytes | Path) -> zipfile.ZipFile:
    """A zip in memory or, read as needed, on disk."""
    return zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data)


def unpack(data: bytes | Path, target: Path) -> None:
    """Unpack into `target` atomically: a half-unpacked tree is never visible there."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=STAGING_PREFIX))
    try:
        with _open(data) as archive:
            for info in archive.infolist():
                if _is_metadata(info.filename):
                    continue
                archive.extract(info, staging)
        _make_read_only(staging)
        os.rename(staging, target)
    except FileExistsError:
        shutil.rmtree(staging, ignore_errors=True)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        if not target.exists():
            raise Invalid(f"the zip could not be unpacked: {e}") from None


def _make_read_only(tree: Path) -> None:
    """Files of a shared tree are read-only: runs' working copies hard-link the large ones."""
    for folder, _dirs, files in os.walk(tree):
        for name in files:
            path = os.path.join(folder, name)
            os.chmod(path, stat.S_IMODE(os.lstat(path).st_mode) & ~0o222)
