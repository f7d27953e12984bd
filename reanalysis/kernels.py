"""How a chapter's kernel talks to the process that runs the chapter: over Unix sockets.

jupyter_client gives a kernel five TCP ports by binding each to port 0 and closing it again;
another process can take one of them before the kernel binds it, and the kernel then dies at
its start ("Kernel died before replying to kernel_info"; jupyter_client issues #487 and #154).
A build starts its chapters' kernels two at a time, and the test suite on two workers. Over
IPC (Unix domain sockets) there is no port to race for: each kernel's sockets are files in a
private folder of its own, removed when the kernel is shut down.

Stdlib only at import: jupyter_client is imported where the class is made.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

# a Unix socket's path must fit sockaddr_un.sun_path (108 bytes on Linux, 104 on macOS, with
# its terminating NUL), less a margin; the build's zygote (reanalysis.warm) keeps to it too. A
# longer temporary folder (TMPDIR) gets TCP here, and no zygote there
IPC_PATH_LIMIT = 100
# then the pid of the process that runs the chapter: the next build removes the folder of a
# killed one (reanalysis.warm.remove_orphaned_folders)
FOLDER_PREFIX = "reanalysis-kernel-"


def fits_a_socket(path: str) -> bool:
    """Whether ``path`` is short enough to bind a Unix socket to, on Linux and macOS."""
    return len(os.fsencode(path)) <= IPC_PATH_LIMIT


def ipc_manager(base: type) -> type:
    """``base`` (an async jupyter_client kernel manager class) whose kernels listen on Unix
    sockets ``<folder>/k-1`` … ``k-5`` in a private temporary folder (0700, as ``mkdtemp``
    makes it, named for this process), removed at shutdown; TCP when that folder's path is too
    long for a socket."""

    class IpcKernelManager(base):  # type: ignore[misc, valid-type]
        _ipc_folder: str | None = None

        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            if self._ipc_folder is None:  # a restart keeps its folder and names
                folder = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-")
                prefix = os.path.join(folder, "k")
                if fits_a_socket(f"{prefix}-99"):  # jupyter_client adds "-<n>"
                    self._ipc_folder = folder
                    self.transport = "ipc"
                    self.ip = prefix
                    self.cache_ports = False  # a port cache binds TCP ports on `ip`
                else:
                    os.rmdir(folder)
            return await super()._async_pre_start_kernel(**kw)

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            await super()._async_cleanup_resources(restart=restart)
            if not restart and self._ipc_folder is not None:
                shutil.rmtree(self._ipc_folder, ignore_errors=True)
                self._ipc_folder = None

    IpcKernelManager.__name__ = IpcKernelManager.__qualname__ = f"Ipc{base.__name__}"
    return IpcKernelManager


def kernel_manager_class(warm_class: type | None = None) -> type:
    """The kernel manager a chapter runs with: ``warm_class`` (a kernel forked from the build's
    zygote: :func:`reanalysis.warm.kernel_manager_class`) or jupyter_client's own, over IPC."""
    if warm_class is None:
        from jupyter_client.manager import AsyncKernelManager

        warm_class = AsyncKernelManager
    return ipc_manager(warm_class)
