from __future__ import annotations

import io
import stat
import zipfile
from typing import Any

import pytest

from jupyter_orch.engine.errors import Invalid, TooLarge
from jupyter_orch.engine.orchestrations.zips import ZipLimits, find_entrypoint, inspect_zip
from tests.security.broken_zips import corrupt_stream, with_flag_bits, with_method
from tests.support.zips import make_zip

NO_DATABASE = True  # pure logic: nothing here touches the store


LIMITS = ZipLimits(max_unpacked_bytes=10_000_000, max_files=100)


def test_root_main_wins_and_requirements_are_read() -> None:
    manifest = inspect_zip(
        make_zip({"a/main.py": "", "main.py": "", "requirements.txt": "six\n", "data/x.csv": "1"}),
        LIMITS,
    )
    assert manifest.entrypoint == "main.py"
    assert manifest.requirements == "six\n"
    assert manifest.files == 4


def test_first_nested_main_in_sorted_order() -> None:
    assert find_entrypoint(["z/main.py", "b/main.py", "b/util.py"]) == "b/main.py"


def test_an_entrypoint_named_at_upload_must_be_a_script_or_notebook_of_the_zip() -> None:
    data = make_zip({"main.py": "", "nb/analysis.ipynb": "{}", "data.txt": ""})
    assert inspect_zip(data, LIMITS, "nb/analysis.ipynb").entrypoint == "nb/analysis.ipynb"
    with pytest.raises(Invalid, match=r"holds no 'other\.ipynb'"):
        inspect_zip(data, LIMITS, "other.ipynb")
    with pytest.raises(Invalid, match=r"must be a \.py script or a \.ipynb notebook"):
        inspect_zip(data, LIMITS, "data.txt")


def test_a_notebook_is_the_entrypoint_where_there_is_no_script() -> None:
    assert find_entrypoint(["main.ipynb", "data.csv"]) == "main.ipynb"
    assert find_entrypoint(["main.ipynb", "main.py"]) == "main.py"
    assert find_entrypoint(["main.ipynb", "sub/main.py"]) == "main.ipynb"
    assert find_entrypoint(["a/main.ipynb", "b/main.py"]) == "b/main.py"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"script.py": "", "other.ipynb": ""}, "no main.py or main.ipynb"),
        ({"main.py": "", "requirements.txt": "", "sub/requirements.txt": ""}, "more than one"),
        ({"main.py": "", "../evil.py": ""}, "outside"),
        ({"main.py": "", "/etc/evil": ""}, "absolute"),
    ],
)
def test_rejected_layouts(files: dict[str, str], message: str) -> None:
    with pytest.raises(Invalid, match=message):
        inspect_zip(make_zip(files), LIMITS)


def test_not_a_zip_and_truncated_zip() -> None:
    with pytest.raises(Invalid, match="not a valid zip"):
        inspect_zip(b"plain text", LIMITS)
    data = make_zip({"main.py": "print('x')" * 1000})
    with pytest.raises(Invalid):
        inspect_zip(data[: len(data) // 2], LIMITS)


def test_symlink_entry_is_rejected() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("main.py", "")
        link = zipfile.ZipInfo("link")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(Invalid, match="symbolic link"):
        inspect_zip(buf.getvalue(), LIMITS)


def test_zip_bomb_limits() -> None:
    bomb = make_zip({"main.py": "", "zeros.bin": b"\0" * 20_000_000})
    assert len(bomb) < 100_000
    with pytest.raises(TooLarge, match="unpacks to"):
        inspect_zip(bomb, LIMITS)
    many = make_zip({"main.py": "", **{f"f{i}.txt": "" for i in range(200)}})
    with pytest.raises(TooLarge, match="files"):
        inspect_zip(many, LIMITS)


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (lambda zip_bytes: with_flag_bits(zip_bytes, 0x1), "encrypted"),
        (lambda zip_bytes: with_method(zip_bytes, 97), "compression method that is not supported"),
        (corrupt_stream, "corrupt"),
    ],
    ids=["encrypted", "unknown-method", "corrupt-stream"],
)
def test_every_read_failure_is_invalid_with_a_clear_message(broken: Any, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        inspect_zip(broken(make_zip({"main.py": "print('hello')\n" * 200})), LIMITS)


def test_a_zip_bomb_is_refused_by_its_compression_ratio() -> None:
    bomb = make_zip({"main.py": "", "zeros.bin": b"\0" * 5_000_000})
    with pytest.raises(TooLarge, match="times its compressed size"):
        inspect_zip(bomb, LIMITS)
    assert inspect_zip(bomb, ZipLimits(10_000_000, 100, max_compression_ratio=10_000)).files == 2
    small = make_zip({"main.py": "", "zeros.bin": b"\0" * 500_000})  # as compressible, but small
    assert inspect_zip(small, LIMITS).files == 2
