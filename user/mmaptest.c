/* mmaptest: what a program observes of file mappings, copy-on-write fork and vfork.
 *
 *   mmaptest DIR ROFILE [TEST...]
 *
 * DIR is a writable directory (files are made and removed there), ROFILE a readable file
 * the program may not write (an ELF file).  Every test prints what it saw, one fact a line,
 * and nothing that depends on where things were placed, so the output of a run under kernkit
 * can be compared line by line with a run on Linux.  Without tests, all of them run.
 * Faults are observed from a child process: the parent prints the signal that killed it.
 * `futex` needs /proc/PID/stat (to see a child asleep) and /dev/shm (sem_open).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif
#define PAGE 4096
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_PRIVATE_FLAG 128

static const char *dir, *rofile;
static char path[512];

static const char *err(long result)
{
    if (result != -1)
        return "ok";
    switch (errno) {
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case ENODEV: return "ENODEV";
    case ENOMEM: return "ENOMEM";
    case EOVERFLOW: return "EOVERFLOW";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "other error";
    }
}

static const char *maperr(void *p)
{
    return p == MAP_FAILED ? err(-1) : "ok";
}

static void *must_map(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    void *p = mmap(addr, len, prot, flags, fd, off);
    if (p == MAP_FAILED) {
        printf("mmap failed: %s\n", strerror(errno));
        exit(1);
    }
    return p;
}

/* A new file DIR/NAME of `pages` pages, page i filled with letter first+i. */
static int make_file(const char *name, int pages, char first)
{
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        printf("open %s failed: %s\n", name, strerror(errno));
        exit(1);
    }
    char buf[PAGE];
    for (int i = 0; i < pages; i++) {
        memset(buf, first + i, PAGE);
        if (write(fd, buf, PAGE) != PAGE) {
            printf("write failed\n");
            exit(1);
        }
    }
    return fd;
}

static char file_byte(int fd, off_t at)
{
    char c = '?';
    if (pread(fd, &c, 1, at) != 1)
        return '!';
    return c;
}

/* Run touch(arg) in a child; what became of it. */
static const char *in_child(void (*touch)(volatile char *), volatile char *arg)
{
    static char text[32];
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        touch(arg);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        snprintf(text, sizeof text, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(text, sizeof text, "exited %d", WEXITSTATUS(status));
    return text;
}

static void read_byte(volatile char *p) { (void)*p; }
static void write_byte(volatile char *p) { *p = 1; }

static void test_private(void)
{
    int fd = make_file("private", 2, 'A');
    char *p = must_map(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("private: maps %c %c\n", p[0], p[PAGE]);
    pwrite(fd, "X", 1, 0);
    printf("private: a later write to the file shows: %c\n", p[0]);
    p[0] = 'p';
    printf("private: the file after writing the mapping: %c\n", file_byte(fd, 0));
    pwrite(fd, "Y", 1, 1);
    printf("private: a written page no longer follows the file: %c%c\n", p[0], p[1]);
    pwrite(fd, "Z", 1, PAGE);
    printf("private: an unwritten page still does: %c\n", p[PAGE]);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        p[2] = 'c';
        p[PAGE + 1] = 'c';
        _exit(p[2] == 'c' ? 0 : 1);
    }
    waitpid(pid, NULL, 0);
    printf("private: after a child wrote its copy: %c %c\n", p[2], p[PAGE + 1]);
    munmap(p, 2 * PAGE);
    close(fd);
    unlink(path);
}

static void test_shared(void)
{
    int fd = make_file("shared", 2, 'a');
    char *q = must_map(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *r = must_map(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
    q[0] = 'S';
    printf("shared: read() sees a write through the mapping: %c\n", file_byte(fd, 0));
    pwrite(fd, "W", 1, PAGE + 1);
    printf("shared: the mapping sees write(): %c\n", q[PAGE + 1]);
    q[10] = 'T';
    printf("shared: another mapping sees it: %c %c\n", r[0], r[10]);
    printf("shared: msync: %s\n", err(msync(q, 2 * PAGE, MS_SYNC)));
    printf("shared: msync of both flags: %s\n", err(msync(q, PAGE, MS_SYNC | MS_ASYNC)));
    printf("shared: msync unaligned: %s\n", err(msync(q + 1, PAGE, MS_SYNC)));
    munmap(q, 2 * PAGE);
    munmap(r, 2 * PAGE);
    close(fd);
    fd = open(path, O_RDONLY);
    char head[11] = {0};
    pread(fd, head, 10, 0);
    printf("shared: after unmap and reopen: %c %c %c\n", head[0], head[1], file_byte(fd, 10));
    close(fd);
    unlink(path);
}

static void test_twoproc(void)
{
    int fd = make_file("twoproc", 1, 0);
    char *p = must_map(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int *counter = must_map(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int to_child[2], to_parent[2];
    pipe(to_child);
    pipe(to_parent);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* the child maps the file a second time, by itself */
        int cfd = open(path, O_RDWR);
        char *c = must_map(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
        strcpy(c, "hello from the child");
        write(to_parent[1], "1", 1);
        char go;
        read(to_child[0], &go, 1);
        printf("twoproc: the child sees: %s\n", c + 100);
        for (int i = 0; i < 1000; i++)
            __atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST);
        fflush(stdout);
        _exit(0);
    }
    char got;
    read(to_parent[0], &got, 1);
    printf("twoproc: the parent sees: %s\n", p);
    strcpy(p + 100, "hello from the parent");
    write(to_child[1], "1", 1);
    for (int i = 0; i < 1000; i++)
        __atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST);
    waitpid(pid, NULL, 0);
    printf("twoproc: shared anonymous counter: %d\n", *counter);
    char text[32] = {0};
    pread(fd, text, 20, 0);
    printf("twoproc: the file says: %s\n", text);
    munmap(p, PAGE);
    close(fd);
    unlink(path);
}

static long futex_call(int *word, int op, int val)
{
    return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

/* Wait (a few seconds at most) until process `pid` sleeps: state S in /proc/PID/stat. */
static void until_asleep(pid_t pid)
{
    char name[64], buf[512];
    snprintf(name, sizeof name, "/proc/%d/stat", (int)pid);
    for (int i = 0; i < 5000; i++) {
        int fd = open(name, O_RDONLY);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (n > 0) {
            buf[n] = 0;
            char *end = strrchr(buf, ')');
            if (end && end[1] == ' ' && end[2] == 'S')
                return;
        }
        usleep(1000);
    }
}

/* A child waiting on a futex word (no FUTEX_PRIVATE_FLAG) that `map` gives it; once it sleeps,
 * the parent wakes it privately, then shared, through its own view of the word. */
static void futex_pair(const char *what, int *(*map)(int child))
{
    int *word = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int *mine = map(1);
        _exit(futex_call(mine, FUTEX_WAIT, 0) == 0 && *mine == 1 ? 0 : 1);
    }
    word = map(0);
    until_asleep(pid);
    long private = futex_call(word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1);
    *word = 1;
    long shared = futex_call(word, FUTEX_WAKE, 1);
    int status;
    waitpid(pid, &status, 0);
    printf("futex: %s: a private wake finds %ld, a shared one %ld; the child %s\n", what, private,
           shared, WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "woke and saw 1" : "failed");
}

static int *inherited;

static int *map_inherited(int child)
{
    (void)child;
    return inherited;
}

static int *map_own(int child)
{
    (void)child;
    int fd = open(path, O_RDWR);
    char *p = must_map(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return (int *)(p + 8);
}

static void test_futex(void)
{
    inherited = must_map(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    futex_pair("shared anonymous memory from fork", map_inherited);
    int fd = make_file("futex", 1, 0);
    close(fd);
    futex_pair("a file each process maps itself", map_own);
    unlink(path);
    /* private memory: the child's word is its own copy; a wake from the parent finds nobody */
    int *priv = must_map(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(futex_call(priv, FUTEX_WAIT, 0) == 0 ? 0 : 1);
    until_asleep(pid);
    long woken = futex_call(priv, FUTEX_WAKE, 1);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    printf("futex: private memory after fork: a wake from the parent finds %ld\n", woken);
    /* a named POSIX semaphore (a file in /dev/shm) between two processes */
    char name[64];
    snprintf(name, sizeof name, "/mmaptest-%d", (int)getpid());
    sem_t *sem = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    if (sem == SEM_FAILED) {
        printf("futex: sem_open: %s\n", err(-1));
        return;
    }
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        sem_t *own = sem_open(name, 0);
        _exit(own != SEM_FAILED && sem_wait(own) == 0 ? 0 : 1);
    }
    until_asleep(pid);
    sem_post(sem);
    int status;
    waitpid(pid, &status, 0);
    printf("futex: a named semaphore posted by the parent wakes the child: %s\n",
           WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "yes" : "no");
    sem_close(sem);
    sem_unlink(name);
}

static void test_truncate(void)
{
    int fd = make_file("truncate", 3, 'a');
    char *p = must_map(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *q = must_map(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    q[2 * PAGE] = 'q'; /* a private copy past the new end goes too */
    ftruncate(fd, 100);
    printf("truncate: inside the file: %c, past its end in the page: %d\n", p[50], p[200]);
    printf("truncate: reading the next page: %s\n", in_child(read_byte, p + PAGE));
    printf("truncate: writing the last page: %s\n", in_child(write_byte, p + 2 * PAGE + 5));
    printf("truncate: a private copy past the end: %s\n", in_child(read_byte, q + 2 * PAGE));
    ftruncate(fd, 2 * PAGE);
    printf("truncate: grown again, the page reads: %d\n", p[PAGE + 7]);
    p[PAGE + 7] = 'g';
    printf("truncate: and keeps a write: %c\n", file_byte(fd, PAGE + 7));
    munmap(p, 3 * PAGE);
    munmap(q, 3 * PAGE);
    close(fd);
    unlink(path);
}

static sigjmp_buf recover;
static volatile siginfo_t seen;

static void on_fault(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    seen = *info;
    siglongjmp(recover, 1);
}

/* What a handler learns of a fault: the signal, its code, the exact address touched. */
static void test_handler(void)
{
    int fd = make_file("handler", 2, 'h');
    char *p = must_map(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ftruncate(fd, 10);
    struct sigaction action, old_bus, old_segv;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &action, &old_bus);
    sigaction(SIGSEGV, &action, &old_segv);
    char *hole = must_map(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(hole + PAGE, PAGE); /* nothing is mapped there now */
    volatile char *targets[2] = {p + PAGE + 5, hole + PAGE + 7};
    for (int i = 0; i < 2; i++) {
        if (sigsetjmp(recover, 1) == 0) {
            targets[i][0] = 1;
            printf("handler: no fault\n");
        } else {
            printf("handler: signal %d, code %s, at the address touched: %s\n", seen.si_signo,
                   seen.si_code == BUS_ADRERR   ? "BUS_ADRERR"
                   : seen.si_code == SEGV_MAPERR ? "SEGV_MAPERR"
                                                 : "other",
                   (char *)seen.si_addr == (char *)targets[i] ? "yes" : "no");
        }
    }
    sigaction(SIGBUS, &old_bus, NULL);
    sigaction(SIGSEGV, &old_segv, NULL);
    munmap(p, 2 * PAGE);
    munmap(hole, PAGE);
    close(fd);
    unlink(path);
}

static void test_pastend(void)
{
    snprintf(path, sizeof path, "%s/pastend", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "0123456789", 10);
    char *p = must_map(NULL, 3 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("pastend: %c%c, then zeros: %d %d\n", p[0], p[9], p[10], p[PAGE - 1]);
    printf("pastend: the page after the file: %s\n", in_child(read_byte, p + PAGE));
    printf("pastend: mapped at an offset past the end: %s\n",
           maperr(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 16 * PAGE)));
    char *far = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 16 * PAGE);
    printf("pastend: touching it: %s\n", in_child(read_byte, far));
    munmap(p, 3 * PAGE);
    close(fd);
    unlink(path);
}

static void test_rofile(void)
{
    int fd = open(rofile, O_RDONLY);
    if (fd < 0) {
        printf("rofile: cannot open %s\n", rofile);
        return;
    }
    printf("rofile: shared writable: %s\n", maperr(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)));
    char *p = must_map(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
    char head[PAGE];
    pread(fd, head, PAGE, 0);
    printf("rofile: shared read-only: %.3s, the same as read(): %s\n", p + 1, memcmp(p, head, PAGE) ? "no" : "yes");
    printf("rofile: writing it: %s\n", in_child(write_byte, p));
    char *q = must_map(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    q[1] = 'Q';
    printf("rofile: a private writable copy: %c, the file: %c\n", q[1], file_byte(fd, 1));
    printf("rofile: executable private: %s\n", maperr(mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0)));
    munmap(p, PAGE);
    munmap(q, PAGE);
    close(fd);
    int wfd = make_file("writeonly", 1, 'w');
    close(wfd);
    wfd = open(path, O_WRONLY);
    printf("rofile: a write-only descriptor: %s\n", maperr(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, wfd, 0)));
    close(wfd);
    unlink(path);
}

static void test_errors(void)
{
    int dfd = open(dir, O_RDONLY);
    printf("errors: a directory: %s\n", maperr(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, dfd, 0)));
    close(dfd);
    int fds[2];
    pipe(fds);
    printf("errors: a pipe: %s\n", maperr(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fds[0], 0)));
    close(fds[0]);
    close(fds[1]);
    printf("errors: a closed descriptor: %s\n", maperr(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 999, 0)));
    int fd = make_file("errors", 1, 'e');
    printf("errors: no length: %s\n", maperr(mmap(NULL, 0, PROT_READ, MAP_PRIVATE, fd, 0)));
    printf("errors: an unaligned offset: %s\n", maperr(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 100)));
    printf("errors: neither shared nor private: %s\n", maperr(mmap(NULL, PAGE, PROT_READ, 0, fd, 0)));
    printf("errors: unknown flags, validated: %s\n",
           maperr(mmap(NULL, PAGE, PROT_READ, 0x03 | 0x400000, fd, 0)) /* MAP_SHARED_VALIDATE */);
    close(fd);
    unlink(path);
}

static void test_mremap(void)
{
    unsigned char *p = must_map(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 2 * PAGE; i++)
        p[i] = i % 251;
    /* its last page becomes a neighbour of its own, so growing the rest in place is impossible */
    printf("mremap: guard: %s\n", err(mprotect(p + 2 * PAGE, PAGE, PROT_NONE)));
    printf("mremap: grow in place: %s\n", maperr(mremap(p, 2 * PAGE, 4 * PAGE, 0)));
    unsigned char *q = mremap(p, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE);
    int same = 1;
    for (int i = 0; i < 2 * PAGE; i++)
        same &= q[i] == i % 251;
    printf("mremap: moved: %s, contents kept: %s, new pages: %d %d\n", q != p ? "yes" : "no",
           same ? "yes" : "no", q[2 * PAGE], q[4 * PAGE - 1]);
    printf("mremap: the old place: %s\n", in_child(read_byte, (volatile char *)p));
    q[3 * PAGE] = 7;
    unsigned char *s = mremap(q, 4 * PAGE, PAGE, 0);
    printf("mremap: shrunk in place: %s, the tail: %s\n", s == q ? "yes" : "no",
           in_child(read_byte, (volatile char *)q + PAGE));
    unsigned char *target = must_map(NULL, 8 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *f = mremap(s, PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, target + 4 * PAGE);
    printf("mremap: to a fixed place: %s, contents: %d %d\n", f == target + 4 * PAGE ? "yes" : "no", f[1], f[PAGE - 1]);
    printf("mremap: fixed without maymove: %s\n", maperr(mremap(f, PAGE, PAGE, MREMAP_FIXED, target)));
    printf("mremap: nothing there: %s\n", maperr(mremap(p, PAGE, 2 * PAGE, MREMAP_MAYMOVE)));
    int fd = make_file("mremap", 4, 'm');
    char *m = must_map(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *g = mremap(m, PAGE, 3 * PAGE, MREMAP_MAYMOVE);
    printf("mremap: a file mapping grown: %c %c %c\n", g[0], g[PAGE], g[2 * PAGE]);
    g[2 * PAGE] = 'G';
    printf("mremap: still the file: %c\n", file_byte(fd, 2 * PAGE));
    char *dup = mremap(g, 0, PAGE, MREMAP_MAYMOVE);
    printf("mremap: a second view of shared pages: %s %c\n", maperr(dup), dup == MAP_FAILED ? '-' : dup[0]);
    close(fd);
    unlink(path);
}

static void test_madvise(void)
{
    char *a = must_map(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    a[0] = 'a';
    a[PAGE] = 'b';
    printf("madvise: dontneed: %s\n", err(madvise(a, PAGE, MADV_DONTNEED)));
    printf("madvise: anonymous memory reads %d, the next page %c\n", a[0], a[PAGE]);
    int fd = make_file("madvise", 1, 'f');
    char *p = must_map(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    char *s = must_map(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    p[0] = 'x';
    s[1] = 'y';
    madvise(p, PAGE, MADV_DONTNEED);
    madvise(s, PAGE, MADV_DONTNEED);
    printf("madvise: a private file page shows the file again: %c%c\n", p[0], p[1]);
    printf("madvise: a shared one keeps what was written: %c\n", s[1]);
    printf("madvise: unknown advice: %s\n", err(madvise(a, PAGE, 9999)));
    printf("madvise: unaligned: %s\n", err(madvise(a + 1, PAGE, MADV_NORMAL)));
    munmap(a + PAGE, PAGE);
    printf("madvise: a range with a hole: %s\n", err(madvise(a, 2 * PAGE, MADV_WILLNEED)));
    close(fd);
    unlink(path);
}

static void test_mincore(void)
{
    char *a = must_map(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    a[0] = 1;
    a[2 * PAGE] = 1;
    unsigned char vec[4];
    printf("mincore: %s", err(mincore(a, 4 * PAGE, vec)));
    printf(" %d %d %d %d\n", vec[0] & 1, vec[1] & 1, vec[2] & 1, vec[3] & 1);
    printf("mincore: unaligned: %s\n", err(mincore(a + 1, PAGE, vec)));
    munmap(a + 3 * PAGE, PAGE);
    printf("mincore: a hole: %s\n", err(mincore(a, 4 * PAGE, vec)));
}

static void test_noreplace(void)
{
    char *a = must_map(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    a[0] = 'k';
    printf("noreplace: over a mapping: %s\n",
           maperr(mmap(a, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)));
    printf("noreplace: the mapping kept: %c\n", a[0]);
    munmap(a + PAGE, PAGE);
    char *b = mmap(a + PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("noreplace: a free place: %s, there: %s\n", maperr(b), b == a + PAGE ? "yes" : "no");
}

static void test_noreserve(void)
{
    size_t size = (size_t)1 << 30;
    char *a = must_map(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    a[0] = 1;
    a[size - 1] = 2;
    printf("noreserve: a gigabyte, both ends: %d %d\n", a[0], a[size - 1]);
    printf("noreserve: unmapped: %s\n", err(munmap(a, size)));
}

static void test_memfd(void)
{
    int fd = syscall(SYS_memfd_create, "kernkit", 1 /* MFD_CLOEXEC */);
    printf("memfd: %s, close-on-exec: %s\n", err(fd), fcntl(fd, F_GETFD) & FD_CLOEXEC ? "yes" : "no");
    printf("memfd: ftruncate: %s\n", err(ftruncate(fd, 2 * PAGE)));
    char *p = must_map(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    p[PAGE] = 'M';
    pwrite(fd, "N", 1, 5);
    struct stat st;
    fstat(fd, &st);
    printf("memfd: read() sees %c, the mapping sees %c, size %ld\n", file_byte(fd, PAGE), p[5], (long)st.st_size);
    printf("memfd: bad flags: %s\n", err(syscall(SYS_memfd_create, "x", 0x100)));
    munmap(p, 2 * PAGE);
    close(fd);
}

static void test_devzero(void)
{
    int fd = open("/dev/zero", O_RDWR);
    char *p = must_map(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    char *s = must_map(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    p[PAGE] = 'z';
    s[0] = 's';
    char *q = must_map(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("devzero: private %d %c, shared %c, another mapping %d\n", p[0], p[PAGE], s[0], q[0]);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        s[1] = 'c';
        p[1] = 'c';
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("devzero: after a child wrote both: shared %c, private %d\n", s[1], p[1]);
    close(fd);
}

static int global = 1;

static void test_cow(void)
{
    int *heap = malloc(64 * sizeof(int));
    heap[0] = 10;
    int local = 100;
    int ready[2], done[2];
    pipe(ready);
    pipe(done);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        global = 2;
        heap[0] = 20;
        local = 200;
        write(ready[1], "1", 1);
        char c;
        read(done[0], &c, 1);
        printf("cow: the child has %d %d %d\n", global, heap[0], local);
        fflush(stdout);
        _exit(0);
    }
    char c;
    read(ready[0], &c, 1);
    printf("cow: the parent has %d %d %d\n", global, heap[0], local);
    global = 3;
    heap[0] = 30;
    write(done[1], "1", 1);
    waitpid(pid, NULL, 0);
    printf("cow: the parent after: %d %d\n", global, heap[0]);
    int children = 0;
    for (int i = 0; i < 20; i++) {
        pid = fork();
        if (pid == 0)
            _exit(global + i);
        int status;
        waitpid(pid, &status, 0);
        children += WEXITSTATUS(status);
    }
    printf("cow: twenty forks: %d\n", children);
    free(heap);
}

static void test_vfork(void)
{
    volatile int shared = 0;
    fflush(stdout);
    pid_t pid = vfork();
    if (pid == 0) {
        shared = 42;
        _exit(5);
    }
    /* the child ran to its end before the parent went on, in the same memory */
    printf("vfork: the parent sees %d\n", shared);
    int status;
    waitpid(pid, &status, 0);
    printf("vfork: the child exited %d\n", WEXITSTATUS(status));
}

/* Not in the default list: 24 MiB in a parent and two live children. */
static void test_cowbig(void)
{
    size_t size = 24 << 20;
    char *big = must_map(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < size; i += PAGE)
        big[i] = 1;
    int ready[2], go[2];
    pipe(ready);
    pipe(go);
    pid_t kids[2];
    fflush(stdout);
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            big[k * PAGE] = 3;
            write(ready[1], "1", 1);
            char c;
            read(go[0], &c, 1);
            _exit(big[k * PAGE] + big[size - PAGE] - 1);
        }
    }
    char c;
    read(ready[0], &c, 1);
    read(ready[0], &c, 1);
    write(go[1], "11", 2);
    int status[2];
    for (int k = 0; k < 2; k++)
        waitpid(kids[k], &status[k], 0);
    printf("cowbig: three processes, 24 MiB each, one page written by each child: %d %d\n",
           WIFEXITED(status[0]) ? WEXITSTATUS(status[0]) + big[0] - 1 : -1,
           WIFEXITED(status[1]) ? WEXITSTATUS(status[1]) + big[PAGE] - 1 : -1);
}

static void test_maps(int count)
{
    char **pages = malloc(count * sizeof *pages);
    int failed = 0;
    for (int i = 0; i < count; i++) {
        pages[i] = mmap(NULL, PAGE, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (pages[i] == MAP_FAILED)
            failed++;
        else if (i % 2 == 0)
            pages[i][0] = 1;
    }
    for (int i = 0; i < count; i++)
        if (pages[i] != MAP_FAILED)
            munmap(pages[i], PAGE);
    printf("maps: %d one-page mappings, %d failed\n", count, failed);
    free(pages);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mmaptest DIR ROFILE [TEST...]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    dir = argv[1];
    rofile = argv[2];
    static const struct {
        const char *name;
        void (*run)(void);
    } tests[] = {
        {"private", test_private}, {"shared", test_shared}, {"twoproc", test_twoproc}, {"futex", test_futex},
        {"truncate", test_truncate}, {"handler", test_handler}, {"pastend", test_pastend}, {"rofile", test_rofile},
        {"errors", test_errors}, {"mremap", test_mremap}, {"madvise", test_madvise},
        {"mincore", test_mincore}, {"noreplace", test_noreplace}, {"noreserve", test_noreserve},
        {"memfd", test_memfd}, {"devzero", test_devzero}, {"cow", test_cow}, {"vfork", test_vfork},
    };
    int n = sizeof tests / sizeof tests[0];
    if (argc == 3) {
        for (int i = 0; i < n; i++)
            tests[i].run();
        return 0;
    }
    for (int a = 3; a < argc; a++) {
        if (strncmp(argv[a], "maps=", 5) == 0) {
            test_maps(atoi(argv[a] + 5));
            continue;
        }
        if (strcmp(argv[a], "cowbig") == 0) {
            test_cowbig();
            continue;
        }
        int found = 0;
        for (int i = 0; i < n; i++)
            if (strcmp(argv[a], tests[i].name) == 0) {
                tests[i].run();
                found = 1;
            }
        if (!found) {
            fprintf(stderr, "mmaptest: no test %s\n", argv[a]);
            return 2;
        }
    }
    return 0;
}
