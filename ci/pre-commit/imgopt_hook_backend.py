"""PEP 517 backend of the repository root's pyproject.toml (see the comment there).

It builds `imgopt_pre_commit-VERSION-py3-none-any.whl`: metadata only, requiring
`imgopt-bin==VERSION`, where VERSION is Cargo.toml's package version in PEP 440 spelling
(the spelling maturin gives the imgopt-bin wheel). Standard library only, so pip can build it
without fetching anything.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

NAME = "imgopt-pre-commit"
DIST = "imgopt_pre_commit"
WHEEL_OF = "imgopt-bin"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def version():
    """Cargo.toml's [package] version, as PEP 440 (1.2.0-rc.1 -> 1.2.0rc1)."""
    with open(os.path.join(ROOT, "Cargo.toml"), encoding="utf-8") as f:
        text = f.read()
    package = re.search(r"^\[package\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    found = package and re.search(r'^version\s*=\s*"([^"]+)"', package.group(1), re.M)
    if not found:
        raise RuntimeError(f"{NAME}: no version in the [package] table of {ROOT}/Cargo.toml")
    semver = found.group(1)
    m = re.fullmatch(r"(\d+\.\d+\.\d+)(?:-(alpha|beta|rc)\.?(\d+))?", semver)
    if not m:
        raise RuntimeError(f"{NAME}: Cargo.toml's version {semver!r} has no PEP 440 spelling here")
    release, pre, n = m.groups()
    return release + ({"alpha": "a", "beta": "b", "rc": "rc"}[pre] + n if pre else "")


def _metadata():
    v = version()
    return (
        "Metadata-Version: 2.1\n"
        f"Name: {NAME}\n"
        f"Version: {v}\n"
        "Summary: imgopt's pre-commit hooks: installs the imgopt-bin wheel of the same version.\n"
        "License: MIT OR Apache-2.0\n"
        f"Requires-Dist: {WHEEL_OF}=={v}\n"
    )


def _dist_info_files():
    return {
        "METADATA": _metadata(),
        "WHEEL": "Wheel-Version: 1.0\nGenerator: imgopt_hook_backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist_info = f"{DIST}-{version()}.dist-info"
    os.makedirs(os.path.join(metadata_directory, dist_info), exist_ok=True)
    for name, text in _dist_info_files().items():
        with open(os.path.join(metadata_directory, dist_info, name), "w", encoding="utf-8") as f:
            f.write(text)
    return dist_info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    v = version()
    dist_info = f"{DIST}-{v}.dist-info"
    filename = f"{DIST}-{v}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as whl:
        for name, text in _dist_info_files().items():
            data = text.encode("utf-8")
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            whl.writestr(f"{dist_info}/{name}", data)
            record.append(f"{dist_info}/{name},sha256={digest},{len(data)}")
        record.append(f"{dist_info}/RECORD,,")
        whl.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return filename


def build_sdist(sdist_directory, config_settings=None):
    base = f"{DIST}-{version()}"
    filename = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as tar:
        for rel in ("pyproject.toml", "Cargo.toml", "ci/pre-commit/imgopt_hook_backend.py"):
            tar.add(os.path.join(ROOT, rel), arcname=f"{base}/{rel}")
        data = _metadata().encode("utf-8")
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return filename
