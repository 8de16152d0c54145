"""Writes requirements.txt: the lab's packages and everything they pull in,
pinned with == and the sha256 of every PyPI file pip could pick for CPython
3.11 (its wheels for any platform, and the source archive).

usage: python3.11 lock.py   (after editing TOP below; needs PyPI)
It resolves TOP in a scratch virtual environment, then reads each package's
file list from PyPI's simple index (its JSON form, as pip reads it).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request

# The clients under test, at the versions the lab pins. kafka-python's extras
# bring the codecs it finds at run time (lz4, python-snappy, zstandard) and
# crc32c; aiokafka's bring cramjam.
TOP = [
    "confluent-kafka==2.16.2",
    "aiokafka[lz4,snappy,zstd]==0.14.0",
    "kafka-python[crc32c,lz4,snappy,zstd]==3.0.12",
]

HEADER = """\
# The Python client lab's packages, pinned with their PyPI hashes (pip
# install --require-hashes). Written by lock.py; edit TOP there, not this file.
"""


def wheel_fits_cpython311(filename):
    # name-version(-build)?-python-abi-platform.whl
    parts = filename[: -len(".whl")].split("-")
    python_tags, abi_tags = parts[-3].split("."), parts[-2].split(".")
    for py in python_tags:
        if py in ("py3", "cp311", "py311"):
            return True
        m = re.fullmatch(r"cp3(\d+)", py)
        if m and "abi3" in abi_tags and int(m.group(1)) <= 11:
            return True
    return False


def normalized(name):
    return re.sub(r"[-_.]+", "_", name).lower()


def release_files(name, version):
    """The files of one release: its wheels and source archives."""
    request = urllib.request.Request(
        f"https://pypi.org/simple/{name}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    release = []
    for f in files:
        filename = f["filename"]
        if filename.endswith(".whl"):
            file_name, file_version = filename.split("-")[:2]
        elif filename.endswith((".tar.gz", ".zip")):
            stem = filename.removesuffix(".tar.gz").removesuffix(".zip")
            file_name, _, file_version = stem.rpartition("-")
        else:
            continue  # eggs and installers of old releases
        if normalized(file_name) == normalized(name) and file_version == version:
            if not f.get("yanked"):
                release.append(f)
    return release


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as scratch:
        venv = os.path.join(scratch, "venv")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        pip = os.path.join(venv, "bin", "pip")
        subprocess.run([pip, "install", "-q", *TOP], check=True)
        frozen = subprocess.run([pip, "freeze"], check=True, capture_output=True, text=True)
    lines = [HEADER]
    for pin in sorted(frozen.stdout.split(), key=str.lower):
        name, version = pin.split("==")
        hashes = sorted(
            f["hashes"]["sha256"]
            for f in release_files(name, version)
            if not f["filename"].endswith(".whl") or wheel_fits_cpython311(f["filename"])
        )
        if not hashes:
            sys.exit(f"no file of {pin} fits CPython 3.11")
        lines.append(f"{name}=={version} \\")
        lines.extend(f"    --hash=sha256:{h} \\" for h in hashes[:-1])
        lines.append(f"    --hash=sha256:{hashes[-1]}")
    with open(os.path.join(here, "requirements.txt"), "w") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
