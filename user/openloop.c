/* openloop: time the file path of a kernel: open, read and close one small file, N times.
 *   openloop PATH N     (PATH is created with 64 bytes first if it does not exist)
 * Prints the bytes read in all, which must be 64 * N. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: openloop PATH N\n");
        return 2;
    }
    const char *path = argv[1];
    long n = atol(argv[2]);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
        char data[64];
        memset(data, 'k', sizeof data);
        if (write(fd, data, sizeof data) != (ssize_t)sizeof data)
            return 1;
        close(fd);
    } else if (errno != EEXIST) {
        fprintf(stderr, "openloop: %s: %s\n", path, strerror(errno));
        return 1;
    }
    char buf[256];
    long total = 0;
    for (long i = 0; i < n; i++) {
        fd = open(path, O_RDONLY);
        if (fd < 0) {
            fprintf(stderr, "openloop: %s: %s\n", path, strerror(errno));
            return 1;
        }
        ssize_t got = read(fd, buf, sizeof buf);
        if (got < 0)
            return 1;
        total += got;
        close(fd);
    }
    printf("%ld\n", total);
    return 0;
}
