/* readline: copies stdin to stdout with raw read/write, prefixing the first
 * chunk with "got: ", to check that guest fd 0 is wired to the host. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

static int write_all(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(1, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int main(void)
{
    char buf[4096];
    int first = 1;

    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        if (first) {
            if (write_all("got: ", 5) != 0)
                return 1;
            first = 0;
        }
        if (write_all(buf, (size_t)n) != 0)
            return 1;
    }
    return 0;
}
