/* rm: remove files; -r removes directories and what they hold, -f ignores missing files. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int recursive, force;

static int removal(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        if (force && errno == ENOENT)
            return 0;
        fprintf(stderr, "rm: %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (S_ISDIR(st.st_mode)) {
        if (!recursive) {
            fprintf(stderr, "rm: %s: is a directory (use -r)\n", path);
            return 1;
        }
        DIR *dir = opendir(path);
        if (!dir) {
            fprintf(stderr, "rm: %s: %s\n", path, strerror(errno));
            return 1;
        }
        int status = 0;
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, ".."))
                continue;
            char *child = malloc(strlen(path) + strlen(entry->d_name) + 2);
            sprintf(child, "%s/%s", path, entry->d_name);
            status |= removal(child);
            free(child);
        }
        closedir(dir);
        if (rmdir(path) < 0) {
            fprintf(stderr, "rm: %s: %s\n", path, strerror(errno));
            return 1;
        }
        return status;
    }
    if (unlink(path) < 0) {
        fprintf(stderr, "rm: %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int opt, status = 0;
    while ((opt = getopt(argc, argv, "rf")) != -1) {
        if (opt == 'r')
            recursive = 1;
        else if (opt == 'f')
            force = 1;
        else {
            fprintf(stderr, "usage: rm [-rf] PATH...\n");
            return 2;
        }
    }
    for (int i = optind; i < argc; i++)
        status |= removal(argv[i]);
    return status;
}
