/* membench: the memory operations bench/memory.py times.
 *
 *   membench fork N          N times: fork, the child exits at once, the parent waits
 *   membench touch N         map N anonymous pages and write one byte in each (first touches)
 *   membench maps N          N one-page mappings, protections alternating, then unmapped
 *   membench mapread FILE    map FILE and add up every 8-byte word of it
 *   membench read FILE       read FILE in 64 KiB pieces and add up every 8-byte word
 *   membench makefile FILE MiB   write a file of MiB mebibytes (a pattern)
 *
 * The two readers print the same sum, so a run shows they read the same bytes.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
#define CHUNK (64 * 1024)

static uint64_t add_words(const uint64_t *words, size_t count)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < count; i++)
        sum += words[i];
    return sum;
}

static int forks(long n)
{
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0 || waitpid(pid, NULL, 0) != pid)
            return 1;
    }
    return 0;
}

static int touch(long n)
{
    char *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    for (long i = 0; i < n; i++)
        p[i * PAGE] = 1;
    return 0;
}

static int maps(long n)
{
    char **pages = malloc(n * sizeof *pages);
    for (long i = 0; i < n; i++) {
        pages[i] = mmap(NULL, PAGE, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (pages[i] == MAP_FAILED)
            return 1;
    }
    for (long i = 0; i < n; i++)
        munmap(pages[i], PAGE);
    return 0;
}

static int mapread(const char *path)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return 1;
    const uint64_t *words = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (words == MAP_FAILED)
        return 1;
    printf("%llu\n", (unsigned long long)add_words(words, st.st_size / 8));
    return 0;
}

static int readfile(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 1;
    static uint64_t buffer[CHUNK / 8];
    uint64_t sum = 0;
    ssize_t got;
    while ((got = read(fd, buffer, CHUNK)) > 0)
        sum += add_words(buffer, got / 8);
    printf("%llu\n", (unsigned long long)sum);
    return got < 0;
}

static int makefile(const char *path, long mib)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return 1;
    static uint64_t buffer[CHUNK / 8];
    for (long chunk = 0; chunk < mib * 16; chunk++) {
        for (size_t i = 0; i < CHUNK / 8; i++)
            buffer[i] = chunk * 131 + i;
        if (write(fd, buffer, CHUNK) != CHUNK)
            return 1;
    }
    return close(fd);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: membench fork|touch|maps N, membench mapread|read FILE, membench makefile FILE MiB\n");
        return 2;
    }
    const char *what = argv[1];
    if (strcmp(what, "fork") == 0)
        return forks(atol(argv[2]));
    if (strcmp(what, "touch") == 0)
        return touch(atol(argv[2]));
    if (strcmp(what, "maps") == 0)
        return maps(atol(argv[2]));
    if (strcmp(what, "mapread") == 0)
        return mapread(argv[2]);
    if (strcmp(what, "read") == 0)
        return readfile(argv[2]);
    if (strcmp(what, "makefile") == 0 && argc > 3)
        return makefile(argv[2], atol(argv[3]));
    fprintf(stderr, "membench: unknown command %s\n", what);
    return 2;
}
