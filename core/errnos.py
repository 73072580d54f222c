"""Linux errno values used by the handlers, and the table that turns device error names into them."""

EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, ENOEXEC, EBADF, ECHILD, EAGAIN, ENOMEM = range(1, 13)
EACCES, EFAULT, ENOTBLK, EBUSY, EEXIST, EXDEV, ENODEV, ENOTDIR, EISDIR, EINVAL = range(13, 23)
ENFILE, EMFILE, ENOTTY, ETXTBSY, EFBIG, ENOSPC, ESPIPE, EROFS, EMLINK, EPIPE = range(23, 33)
EDOM, ERANGE, EDEADLK, ENAMETOOLONG, ENOLCK, ENOSYS, ENOTEMPTY, ELOOP = range(33, 41)
EOPNOTSUPP, ETIMEDOUT, EOVERFLOW = 95, 110, 75
ELIBBAD = 80
ENOTSOCK, EDESTADDRREQ, EMSGSIZE, EPROTOTYPE, ENOPROTOOPT, EPROTONOSUPPORT, ESOCKTNOSUPPORT = range(88, 95)
EAFNOSUPPORT, EADDRINUSE, EADDRNOTAVAIL, ENETDOWN, ENETUNREACH = range(97, 102)
ECONNABORTED, ECONNRESET, ENOBUFS, EISCONN, ENOTCONN = range(103, 108)
ECONNREFUSED, EHOSTUNREACH, EALREADY, EINPROGRESS = 111, 113, 114, 115

#: errno name (as devices raise them) -> number.
ERRNO = {name: value for name, value in globals().items() if name.startswith("E") and isinstance(value, int)}


def errno_of(code: str) -> int:
    """The Linux number for a device error name; EIO for one Linux does not have."""
    return ERRNO.get(code, EIO)
