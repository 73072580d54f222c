"""Linux errno values used by the handlers."""

EPERM, ENOENT, ESRCH, EINTR, EIO, E2BIG, ENOEXEC, EBADF, ECHILD, EAGAIN, ENOMEM, EFAULT = (
    1,
    2,
    3,
    4,
    5,
    7,
    8,
    9,
    10,
    11,
    12,
    14,
)
ENXIO, EBUSY = 6, 16
EEXIST, ENODEV, EINVAL, ENOTTY, EPIPE, ENOSYS = 17, 19, 22, 25, 32, 38
EOPNOTSUPP, ETIMEDOUT = 95, 110
