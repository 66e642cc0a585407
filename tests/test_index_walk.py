"""The workspace walk: ignore files at every level, binaries, sizes, symlinks."""

from __future__ import annotations

import os
from pathlib import Path

from index.walk import read_text, walk


def _tree(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)


def test_walk_honours_every_ignore_source(tmp_path: Path) -> None:
    _tree(tmp_path, {
        ".gitignore": "*.log\nbuild/\n",
        ".git/info/exclude": "secret.txt\n",
        ".git/config": "[core]\n",
        ".steadignore": "generated/\n",
        "src/.gitignore": "local_*.py\n!local_keep.py\n",
        "src/app.py": "x = 1\n",
        "src/local_tmp.py": "x = 2\n",
        "src/local_keep.py": "x = 3\n",
        "src/deep/.gitignore": "*.py\n",
        "src/deep/skip.py": "x = 4\n",
        "src/deep/readme.md": "hello\n",
        "app.log": "log\n",
        "build/out.py": "x = 5\n",
        "generated/g.py": "x = 6\n",
        "secret.txt": "s\n",
        "node_modules/m/index.js": "x\n",
        "img.png": b"\x89PNG\x00\x00",
        "big.py": "x = 1\n" * 1000,
        "empty.py": "",
        "notes.md": "# notes\n",
    })
    found = sorted(e.rel for e in walk(tmp_path, exclude=("notes.md",), max_bytes=5000))
    assert found == ["src/app.py", "src/deep/readme.md", "src/local_keep.py"]


def test_symlinks_never_leave_the_root_or_loop(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    root = tmp_path / "ws"
    _tree(outside, {"o.py": "x = 1\n"})
    _tree(root, {"a/in.py": "y = 1\n"})
    os.symlink(outside / "o.py", root / "link_out.py")
    os.symlink(outside, root / "dir_out")
    os.symlink(root / "a", root / "a" / "loop")
    os.symlink(root / "a" / "in.py", root / "link_in.py")
    found = sorted(e.rel for e in walk(root))
    assert found == ["a/in.py", "link_in.py"]


def test_read_text_refuses_binary_and_tolerates_a_few_bad_bytes(tmp_path: Path) -> None:
    (tmp_path / "bin").write_bytes(b"abc\x00def")
    (tmp_path / "latin").write_bytes(b"caf\xe9 = 1\n" + b"x = 2\n" * 200)
    (tmp_path / "garbage").write_bytes(bytes(range(128, 256)) * 40)
    (tmp_path / "min.js").write_text("var a=1;" * 2000)
    assert read_text(tmp_path / "bin", 1000) == (None, "binary")
    text, why = read_text(tmp_path / "latin", 10_000)
    assert text is not None and text.startswith("caf\ufffd") and why == ""
    assert read_text(tmp_path / "garbage", 10_000)[0] is None
    assert read_text(tmp_path / "min.js", 100_000)[1].startswith("minified")
    assert read_text(tmp_path / "missing", 10)[1].startswith("unreadable")
