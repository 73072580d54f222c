/* ls: list directories and files in the kernel's namespace.
 *   ls [-l] [-R] [-a] [-d] [PATH...]     (default: the current directory)
 *   -l  one line per file: type and permissions, size, name (and a link's target)
 *   -R  list subdirectories too, each under a "PATH:" heading
 *   -a  include names starting with '.' (and . and ..)
 *   -d  list a directory itself, not its contents
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int opt_long, opt_recursive, opt_all, opt_dir, status;

static void mode_string(mode_t mode, char *out)
{
    out[0] = S_ISDIR(mode) ? 'd' : S_ISLNK(mode) ? 'l' : S_ISCHR(mode) ? 'c' : S_ISFIFO(mode) ? 'p'
             : S_ISSOCK(mode) ? 's' : '-';
    const char *rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++)
        out[1 + i] = (mode & (0400 >> i)) ? rwx[i] : '-';
    out[10] = '\0';
}

static void show(const char *path, const char *name)
{
    if (!opt_long) {
        printf("%s\n", name);
        return;
    }
    struct stat st;
    if (lstat(path, &st) < 0) {
        fprintf(stderr, "ls: %s: %s\n", path, strerror(errno));
        status = 1;
        return;
    }
    char mode[11], target[256] = "";
    mode_string(st.st_mode, mode);
    if (S_ISLNK(st.st_mode)) {
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n < 0 ? 0 : n] = '\0';
    }
    printf("%s %8lld %s%s%s\n", mode, (long long)st.st_size, name, target[0] ? " -> " : "", target);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir), m = strlen(name);
    char *out = malloc(n + m + 2);
    memcpy(out, dir, n);
    size_t at = n;
    if (n == 0 || dir[n - 1] != '/')
        out[at++] = '/';
    memcpy(out + at, name, m + 1);
    return out;
}

static void list_dir(const char *path, int heading)
{
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "ls: %s: %s\n", path, strerror(errno));
        status = 1;
        return;
    }
    size_t count = 0, room = 16;
    char **names = malloc(room * sizeof *names);
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.' && !opt_all)
            continue;
        if (count == room)
            names = realloc(names, (room *= 2) * sizeof *names);
        names[count++] = strdup(entry->d_name);
    }
    closedir(dir);
    qsort(names, count, sizeof *names, by_name);
    if (heading)
        printf("%s:\n", path);
    for (size_t i = 0; i < count; i++) {
        char *full = join(path, names[i]);
        show(full, names[i]);
        free(full);
    }
    if (opt_recursive) {
        for (size_t i = 0; i < count; i++) {
            if (!strcmp(names[i], ".") || !strcmp(names[i], ".."))
                continue;
            char *full = join(path, names[i]);
            struct stat st;
            if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
                printf("\n");
                list_dir(full, 1);
            }
            free(full);
        }
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

static void list(const char *path, int heading)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "ls: %s: %s\n", path, strerror(errno));
        status = 1;
        return;
    }
    if (S_ISDIR(st.st_mode) && !opt_dir)
        list_dir(path, heading);
    else
        show(path, path);
}

int main(int argc, char **argv)
{
    int opt;
    while ((opt = getopt(argc, argv, "lRad")) != -1) {
        switch (opt) {
        case 'l': opt_long = 1; break;
        case 'R': opt_recursive = 1; break;
        case 'a': opt_all = 1; break;
        case 'd': opt_dir = 1; break;
        default:
            fprintf(stderr, "usage: ls [-lRad] [PATH...]\n");
            return 2;
        }
    }
    if (optind == argc) {
        list(".", opt_recursive);
    } else {
        int many = argc - optind > 1 || opt_recursive;
        for (int i = optind; i < argc; i++) {
            if (i > optind && many)
                printf("\n");
            list(argv[i], many);
        }
    }
    return status;
}
