/* tree: draw directories and what they hold, as an indented tree.
 *   tree [-L DEPTH] [PATH...]     (default: the current directory; DEPTH 0: no limit)
 * Names are sorted; a directory's entries are drawn under it with |-- and `-- branches; symbolic
 * links are drawn as NAME -> TARGET and not followed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int max_depth, status;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void draw(const char *path, const char *prefix, int depth)
{
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "tree: %s: %s\n", path, strerror(errno));
        status = 1;
        return;
    }
    size_t count = 0, room = 16;
    char **names = malloc(room * sizeof *names);
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, ".."))
            continue;
        if (count == room)
            names = realloc(names, (room *= 2) * sizeof *names);
        names[count++] = strdup(entry->d_name);
    }
    closedir(dir);
    qsort(names, count, sizeof *names, by_name);
    for (size_t i = 0; i < count; i++) {
        int last = i + 1 == count;
        char *full = malloc(strlen(path) + strlen(names[i]) + 2);
        sprintf(full, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", names[i]);
        char target[256];
        ssize_t n = readlink(full, target, sizeof target - 1);
        target[n < 0 ? 0 : n] = '\0';
        printf("%s%s%s%s%s\n", prefix, last ? "`-- " : "|-- ", names[i], n >= 0 ? " -> " : "", target);
        struct stat st;
        if ((max_depth == 0 || depth < max_depth) && lstat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
            char *deeper = malloc(strlen(prefix) + 5);
            sprintf(deeper, "%s%s", prefix, last ? "    " : "|   ");
            draw(full, deeper, depth + 1);
            free(deeper);
        }
        free(full);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    int opt;
    while ((opt = getopt(argc, argv, "L:")) != -1) {
        if (opt == 'L')
            max_depth = atoi(optarg);
        else {
            fprintf(stderr, "usage: tree [-L DEPTH] [PATH...]\n");
            return 2;
        }
    }
    if (optind == argc) {
        printf(".\n");
        draw(".", "", 1);
    }
    for (int i = optind; i < argc; i++) {
        printf("%s\n", argv[i]);
        draw(argv[i], "", 1);
    }
    return status;
}
