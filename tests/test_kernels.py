"""A chapter's kernel talks over Unix sockets in a private folder (``reanalysis.kernels``), so
kernels started side by side cannot race for TCP ports; a temporary folder too long for a
socket's path keeps TCP."""

from __future__ import annotations

import asyncio
import os
import stat
import tempfile
from pathlib import Path

import pytest

from reanalysis import kernels, warm


async def _session(manager_class: type, cwd: Path) -> dict[str, object]:
    """Start a kernel, run a cell, shut it down; what was seen on the way."""
    km = manager_class(kernel_name="python3")
    await km.start_kernel(cwd=str(cwd))
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=60)
        reply = await kc.execute_interactive("x = 6 * 7", timeout=60)
        info = km.get_connection_info()
        folder = km._ipc_folder
        seen = {
            "status": reply["content"]["status"],
            "transport": info["transport"],
            "ip": info["ip"],
            "folder": folder,
            "mode": stat.S_IMODE(os.stat(folder).st_mode) if folder else None,
            "sockets": sorted(p.name for p in Path(folder).iterdir() if stat.S_ISSOCK(p.stat().st_mode))
            if folder
            else [],
        }
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=False)
    seen["left"] = bool(seen["folder"]) and Path(str(seen["folder"])).exists()
    return seen


def test_a_kernel_talks_over_unix_sockets_in_its_own_folder(tmp_path):
    seen = asyncio.run(_session(kernels.kernel_manager_class(), tmp_path))
    assert seen["status"] == "ok"
    assert seen["transport"] == "ipc"
    assert str(seen["ip"]) == os.path.join(str(seen["folder"]), "k")
    assert seen["mode"] == 0o700  # private: no other user can connect to the kernel
    # named for the process that runs the chapter, so that a killed one's is swept later
    assert Path(str(seen["folder"])).name.startswith(f"{kernels.FOLDER_PREFIX}{os.getpid()}-")
    assert seen["sockets"] == [f"k-{n}" for n in range(1, 6)]  # shell, iopub, stdin, control, heartbeat
    assert not seen["left"]  # removed at shutdown


def test_a_temporary_folder_too_long_for_a_socket_keeps_tcp(tmp_path, monkeypatch):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    seen = asyncio.run(_session(kernels.kernel_manager_class(), tmp_path))
    assert seen["status"] == "ok" and seen["transport"] == "tcp" and seen["folder"] is None
    assert list(deep.iterdir()) == []  # the folder it could not use is not left behind


def test_a_temporary_folder_too_long_for_a_socket_starts_no_zygote(tmp_path, monkeypatch):
    """The zygote keeps to the same limit: no process is started for a socket it cannot bind."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    with warm.zygote() as found:
        assert found == {}
    assert list(deep.iterdir()) == []


@pytest.fixture
def zygote():
    with warm.zygote() as found:
        yield found.get(warm.ENV)  # none when it could not start (a too long temporary folder)


def test_a_kernel_forked_from_the_zygote_talks_over_unix_sockets(zygote, tmp_path, monkeypatch):
    """As a build's chapter runs: the warm kernel manager (the kernel forked from the zygote)
    over IPC."""
    if zygote is None:
        pytest.skip("no zygote here (a temporary folder too long for its socket)")
    monkeypatch.setenv(warm.ENV, zygote)
    seen = asyncio.run(_session(kernels.kernel_manager_class(warm.kernel_manager_class()), tmp_path))
    assert seen["status"] == "ok" and seen["transport"] == "ipc"
    assert not seen["left"]
