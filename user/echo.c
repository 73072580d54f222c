/* echo: print the arguments, separated by spaces, then a newline (not with -n).
 * Redirection is done by echo itself, there being no shell:
 *   echo WORDS... > FILE     create or truncate FILE and write there
 *   echo WORDS... >> FILE    append to FILE
 * (quote the '>' on the host's command line: kernkit boot -- echo hi '>' /tmp/f). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int first = 1, newline = 1, out = 1, last = argc;
    if (argc > 1 && !strcmp(argv[1], "-n")) {
        newline = 0;
        first = 2;
    }
    if (argc - first >= 2 && (!strcmp(argv[argc - 2], ">") || !strcmp(argv[argc - 2], ">>"))) {
        int append = argv[argc - 2][1] == '>';
        int flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC);
        out = open(argv[argc - 1], flags, 0666);
        if (out < 0) {
            fprintf(stderr, "echo: %s: %s\n", argv[argc - 1], strerror(errno));
            return 1;
        }
        last = argc - 2;
    }
    size_t size = 1;
    for (int i = first; i < last; i++)
        size += strlen(argv[i]) + 1;
    char *text = malloc(size), *at = text;
    for (int i = first; i < last; i++) {
        if (i > first)
            *at++ = ' ';
        size_t n = strlen(argv[i]);
        memcpy(at, argv[i], n);
        at += n;
    }
    if (newline)
        *at++ = '\n';
    size_t len = (size_t)(at - text);
    for (size_t done = 0; done < len;) {
        ssize_t n = write(out, text + done, len - done);
        if (n < 0) {
            fprintf(stderr, "echo: write: %s\n", strerror(errno));
            return 1;
        }
        done += (size_t)n;
    }
    return 0;
}
