"""``[export9p]``: serve paths of the kernel's namespace to host 9P clients while it runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.errors import ConfigError
from kernkit.core.listening import remote_warning
from kernkit.core.state import Slot
from kernkit.plugins.ninep.address import parse_address
from kernkit.plugins.ninep.server import Session
from kernkit.plugins.ninep.transport import Listener

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel

EXPORT: Slot[Export] = Slot("ninep.export")
KEEP_ALIVE = "export9p"


class Export:
    """A listening export: the listener, and the sessions it made (for tests and reports)."""

    def __init__(self, kernel: Kernel, listener: Listener, writable: bool) -> None:
        self.kernel = kernel
        self.listener = listener
        self.writable = writable

    @property
    def address(self) -> tuple[str, int]:
        return self.listener.address

    def close(self) -> None:
        self.listener.close()
        self.kernel.hostio.keep_alive(KEEP_ALIVE, False)


def start_export(kernel: Kernel) -> None:
    """Boot step: listen on ``[export9p] listen``, if set, and keep the kernel up for clients."""
    options = kernel.config["export9p"]
    if not options.listen:
        return
    from kernkit.plugins.ninep.nsbackend import NsExport
    from kernkit.plugins.ns.api import boot_namespace

    namespace = boot_namespace(kernel)
    epoch = getattr(kernel.config.sections.get("linux"), "epoch", 0)
    root = NsExport(kernel, namespace, options.paths, epoch * 1_000_000_000)

    def new_session() -> Session:
        return Session(
            root,
            writable=options.writable,
            max_msize=options.msize,
            on_error=lambda text: kernel.message(f"9P export: {text}"),
        )

    host, port = parse_address(options.listen)
    try:
        listener = Listener(
            kernel.hostio,
            host,
            port,
            new_session,
            max_connections=options.max_connections,
            max_buffer=options.max_buffer,
            kmem=kernel.kmem,
            on_error=lambda text: kernel.message(f"9P export: {text}"),
        )
    except OSError as exc:
        where = kernel.config.raw.source_of("export9p.listen")
        raise ConfigError(f"{where}: export9p.listen: {exc.strerror}") from None
    export = EXPORT.set(kernel, Export(kernel, listener, options.writable))
    kernel.hostio.keep_alive(KEEP_ALIVE)
    mode = "read-write" if options.writable else "read-only"
    bound_host, bound_port = export.address
    warning = remote_warning(bound_host, bound_port, "export9p", "the 9P export")
    if warning:
        kernel.message(warning)
    kernel.message(
        f"9P export on {bound_host}:{bound_port} ({', '.join(options.paths)}, {mode}); Ctrl-C to stop"
    )


def stop_export(kernel: Kernel) -> None:
    export = EXPORT.pop(kernel)
    if export is not None:
        export.close()
