/* mkdir: make directories; -p makes missing parents and accepts ones that exist. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int make(char *path, int parents)
{
    if (parents) {
        for (char *slash = path + 1; (slash = strchr(slash, '/')) != NULL; slash++) {
            *slash = '\0';
            int failed = mkdir(path, 0777) < 0 && errno != EEXIST;
            *slash = '/';
            if (failed)
                break;
        }
    }
    if (mkdir(path, 0777) < 0 && !(parents && errno == EEXIST)) {
        fprintf(stderr, "mkdir: %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int parents = 0, first = 1, status = 0;
    if (argc > 1 && !strcmp(argv[1], "-p")) {
        parents = 1;
        first = 2;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: mkdir [-p] DIR...\n");
        return 2;
    }
    for (int i = first; i < argc; i++)
        status |= make(argv[i], parents);
    return status;
}
