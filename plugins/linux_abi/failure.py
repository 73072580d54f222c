"""How a Linux syscall handler gives up deep inside: raise Failed(errno); the handler's wrapper
(``fs.syscall``) turns it into the negative errno the guest sees."""


class Failed(Exception):  # noqa: N818 - a syscall's way out with an errno
    def __init__(self, errno: int) -> None:
        super().__init__(errno)
        self.errno = errno
