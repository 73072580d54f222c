/* cp: copy a file, byte for byte, with open/read/write/close.
 *
 *   cp [-v] [-b BYTES] SOURCE DEST
 *
 * DEST is created (mode 0644) or truncated. -b sets the size of each read (default 65536);
 * -v prints how many bytes were copied. Errors name the file and exit with status 1. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what, const char *path)
{
    fprintf(stderr, "cp: %s %s: %s\n", what, path, strerror(errno));
    return 1;
}

int main(int argc, char **argv)
{
    size_t size = 65536;
    int verbose = 0, opt;

    while ((opt = getopt(argc, argv, "vb:")) != -1) {
        if (opt == 'v') {
            verbose = 1;
        } else if (opt == 'b') {
            size = strtoul(optarg, NULL, 0);
        } else {
            fprintf(stderr, "usage: cp [-v] [-b BYTES] SOURCE DEST\n");
            return 2;
        }
    }
    if (argc - optind != 2 || size == 0) {
        fprintf(stderr, "usage: cp [-v] [-b BYTES] SOURCE DEST\n");
        return 2;
    }
    const char *from = argv[optind], *to = argv[optind + 1];
    char *buffer = malloc(size);
    if (buffer == NULL)
        return fail("allocating a buffer for", from);
    int in = open(from, O_RDONLY);
    if (in < 0)
        return fail("opening", from);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0)
        return fail("creating", to);
    unsigned long long total = 0;
    for (;;) {
        ssize_t got = read(in, buffer, size);
        if (got < 0)
            return fail("reading", from);
        if (got == 0)
            break;
        for (ssize_t done = 0; done < got;) {
            ssize_t put = write(out, buffer + done, got - done);
            if (put < 0)
                return fail("writing", to);
            done += put;
        }
        total += got;
    }
    if (close(out) < 0)
        return fail("closing", to);
    close(in);
    if (verbose)
        printf("copied %llu bytes\n", total);
    return 0;
}
