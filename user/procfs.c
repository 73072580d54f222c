/* procfs: Linux's /proc and /dev/fd as a program sees them (procfs GROUP DIR, DIR a scratch
 * directory on a tmpfs). Every check compares /proc with what the program knows from other
 * calls, so the same program prints the same lines natively on Linux.
 *   counters eventfd (counting, semaphore, limits, a reader woken across fork), capget
 *   self     /proc/self, stat, status, statm, cmdline, environ, maps, task/, thread-self
 *   exe      /proc/self/exe: the program itself, and running it again through the link
 *   fds      /proc/self/fd links and fdinfo, /dev/fd/N and /dev/stdin reopening what is open
 *   other    another process's directory while it sleeps, as a zombie, and once reaped
 *   system   meminfo, stat, cpuinfo, uptime, loadavg, version, filesystems, mounts, sys/
 * Each check prints "ok NAME" or "FAIL NAME: ..."; the exit status is the number of failures.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/sysinfo.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"

static char dir[256];
static char **arguments;

/* The whole of a (generated, unsized) file, NUL-terminated; its length in *length. */
static char *slurp(const char *path, size_t *length)
{
    static char buffer[1 << 16];
    size_t total = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        buffer[0] = 0;
        if (length)
            *length = 0;
        return buffer;
    }
    ssize_t n;
    while (total < sizeof buffer - 1 && (n = read(fd, buffer + total, sizeof buffer - 1 - total)) > 0)
        total += n;
    close(fd);
    buffer[total] = 0;
    if (length)
        *length = total;
    return buffer;
}

static char *link_of(const char *path)
{
    static char target[PATH_MAX];
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n < 0 ? 0 : n] = 0;
    return target;
}

/* The value after "Key:" in a status-like file, as a number. */
static long long field(const char *text, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\n%s:", key);
    const char *at = strstr(text, pattern);
    if (!at && strncmp(text, pattern + 1, strlen(pattern) - 1) == 0)
        at = text - 1;
    return at ? atoll(at + strlen(pattern)) : -1;
}

/* The Nth space-separated field of /proc/PID/stat (1-based), after the (comm). */
static long long stat_field(const char *stat, int n)
{
    const char *p = strrchr(stat, ')');
    if (!p)
        return -1;
    p += 2; /* field 3, the state */
    for (int i = 3; i < n; i++) {
        p = strchr(p, ' ');
        if (!p)
            return -1;
        p++;
    }
    return atoll(p);
}

static char stat_state(const char *stat)
{
    const char *p = strrchr(stat, ')');
    return p ? p[2] : '?';
}

/* ------------------------------------------------------------------------------------------- */

static void self(void)
{
    char want[64], path[PATH_MAX + 64];
    snprintf(want, sizeof want, "%d", getpid());
    same("/proc/self names me", link_of("/proc/self"), want);
    struct stat st, st2;
    stat("/proc/self", &st);
    check("/proc/self is a directory", S_ISDIR(st.st_mode), "not a directory");
    equal("owned by my uid", st.st_uid, getuid());
    char *s = slurp("/proc/self/stat", NULL);
    equal("stat: pid", atoll(s), getpid());
    /* this run came through execve("/proc/self/exe"): the name is the file's, "exe" */
    check("stat: comm in parentheses", strstr(s, " (exe) ") != NULL, s);
    equal("stat: I am running", stat_state(s), 'R');
    equal("stat: ppid", stat_field(s, 4), getppid());
    equal("stat: one thread", stat_field(s, 20), 1);
    check("stat: started after boot", stat_field(s, 22) >= 0, s);
    check("stat: 52 fields", strchr(strrchr(s, ')'), '\n') != NULL, s);
    s = slurp("/proc/self/status", NULL);
    equal("status: Pid", field(s, "Pid"), getpid());
    equal("status: PPid", field(s, "PPid"), getppid());
    equal("status: Uid", field(s, "Uid"), getuid());
    equal("status: Threads", field(s, "Threads"), 1);
    check("status: Name", strncmp(s, "Name:\texe\n", 10) == 0, s);
    check("status: VmRSS", field(s, "VmRSS") > 0, "no VmRSS");
    long long size, resident;
    s = slurp("/proc/self/statm", NULL);
    check("statm", sscanf(s, "%lld %lld", &size, &resident) == 2 && size >= resident && resident > 0, s);
    size_t length;
    s = slurp("/proc/self/cmdline", &length);
    size_t want_length = 0;
    for (char **a = arguments; *a; a++)
        want_length += strlen(*a) + 1;
    equal("cmdline: argv, NUL-terminated", length, want_length);
    same("cmdline: argv[0]", s, arguments[0]);
    same("cmdline: argv[1]", s + strlen(s) + 1, arguments[1]);
    s = slurp("/proc/self/environ", &length);
    int found = 0;
    for (size_t at = 0; at < length; at += strlen(s + at) + 1)
        found |= strcmp(s + at, "PROCFS=environ") == 0;
    check("environ holds what execve gave", found, "PROCFS=environ missing");
    s = slurp("/proc/self/maps", NULL);
    check("maps: the stack", strstr(s, "[stack]") != NULL, s);
    char code[32];
    snprintf(code, sizeof code, "%lx", (unsigned long)&self);
    int executable = 0;
    for (char *line = s; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        unsigned long start, end;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) == 3 && start <= (unsigned long)&self &&
            (unsigned long)&self < end)
            executable = perms[2] == 'x';
    }
    check("maps: my code is executable", executable, code);
    check("smaps_rollup: Rss", strstr(slurp("/proc/self/smaps_rollup", NULL), "\nRss:") != NULL, "no Rss");
    /* a shared mapping of a file, from its third page: 's', the offset, the file's device and inode */
    snprintf(path, sizeof path, "%s/procfs-mapped", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ftruncate(fd, 4 * 4096);
    char *mapped = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 2 * 4096);
    struct stat file_st;
    fstat(fd, &file_st);
    char wanted[128], line_of[256] = "no line";
    snprintf(wanted, sizeof wanted, "%lx-%lx rw-s 00002000 %02x:%02x %lu ", (unsigned long)mapped,
             (unsigned long)mapped + 4096, major(file_st.st_dev), minor(file_st.st_dev),
             (unsigned long)file_st.st_ino);
    s = slurp("/proc/self/maps", NULL);
    char *at = strstr(s, wanted);
    if (at) {
        char *end = strchr(at, '\n');
        snprintf(line_of, sizeof line_of, "%.*s", end ? (int)(end - at) : 200, at);
    }
    check("maps: a shared file mapping's offset, device and inode", at != NULL, wanted);
    char *name = at ? strrchr(line_of, ' ') : NULL;
    same("maps: the mapped file's path", name ? name + 1 : "none", path);
    munmap(mapped, 4096);
    close(fd);
    unlink(path);
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", getpid());
    equal("task/TID/stat", atoll(slurp(path, NULL)), getpid());
    snprintf(want, sizeof want, "%d/task/%d", getpid(), (int)syscall(SYS_gettid));
    same("thread-self", link_of("/proc/thread-self"), want);
    snprintf(path, sizeof path, "/proc/%d/comm", getpid());
    same("comm", slurp(path, NULL), "exe\n");
    chdir(dir);
    char cwd[PATH_MAX];
    getcwd(cwd, sizeof cwd);
    same("cwd", link_of("/proc/self/cwd"), cwd);
    stat("/proc/self/cwd", &st);
    stat(".", &st2);
    check("cwd leads to the directory", st.st_ino == st2.st_ino && st.st_dev == st2.st_dev, "inode");
    same("root", link_of("/proc/self/root"), "/");
    chdir("/");
}

static void exe(void)
{
    if (getenv("PROCFS_AGAIN")) { /* run again through /proc/self/exe */
        printf("ok running again through /proc/self/exe\n");
        return;
    }
    struct stat link_st, self_st;
    check("exe: a link", lstat("/proc/self/exe", &link_st) == 0 && S_ISLNK(link_st.st_mode), "lstat");
    stat("/proc/self/exe", &self_st);
    check("exe: the program, executable", S_ISREG(self_st.st_mode) && (self_st.st_mode & 0111), "mode");
    struct stat named;
    check("exe: names a path to the program",
          stat(link_of("/proc/self/exe"), &named) == 0 && named.st_ino == self_st.st_ino, link_of("/proc/self/exe"));
    char *head = slurp("/proc/self/exe", NULL);
    check("exe: reads as an ELF file", memcmp(head, "\177ELF", 4) == 0, "magic");
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char *argv[] = {"procfs", "exe", dir, NULL};
        char *envp[] = {"PROCFS_AGAIN=1", NULL};
        execve("/proc/self/exe", argv, envp);
        _exit(99);
    }
    int status;
    waitpid(child, &status, 0);
    equal("exe: run again", WEXITSTATUS(status), 0);
}

static void fds(void)
{
    char path[128], want[PATH_MAX];
    snprintf(want, sizeof want, "%s/fdfile", dir);
    int fd = open(want, O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "0123456789", 10);
    lseek(fd, 4, SEEK_SET);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    same("fd/N names the file", link_of(path), want);
    struct stat st;
    lstat(path, &st);
    check("fd/N of a read-write file", S_ISLNK(st.st_mode) && (st.st_mode & 0777) == 0700, "mode");
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    char *info = slurp(path, NULL);
    equal("fdinfo pos", field(info, "pos"), 4);
    check("fdinfo flags: O_RDWR", (strtol(strstr(info, "flags:") + 7, NULL, 8) & 3) == O_RDWR, info);
    snprintf(path, sizeof path, "/dev/fd/%d", fd);
    int again = open(path, O_RDONLY);
    char buf[16] = {0};
    read(again, buf, 3);
    same("/dev/fd/N opens the file anew, from the start", buf, "012");
    close(again);
    int on = 1;
    works("ioctl FIONBIO on", ioctl(fd, FIONBIO, &on));
    check("FIONBIO sets O_NONBLOCK", fcntl(fd, F_GETFL) & O_NONBLOCK, "flag clear");
    on = 0;
    ioctl(fd, FIONBIO, &on);
    check("FIONBIO clears it", !(fcntl(fd, F_GETFL) & O_NONBLOCK), "flag set");
    works("ioctl FIOCLEX", ioctl(fd, FIOCLEX));
    equal("FIOCLEX sets close-on-exec", fcntl(fd, F_GETFD), FD_CLOEXEC);
    ioctl(fd, FIONCLEX);
    equal("FIONCLEX clears it", fcntl(fd, F_GETFD), 0);
    fails("FIONBIO on nothing", ioctl(99, FIONBIO, &on), EBADF);
    close(fd);
    int pipefd[2];
    pipe(pipefd);
    snprintf(path, sizeof path, "/proc/self/fd/%d", pipefd[0]);
    check("a pipe is pipe:[N]", strncmp(link_of(path), "pipe:[", 6) == 0, link_of(path));
    snprintf(path, sizeof path, "/dev/fd/%d", pipefd[0]);
    int reader = open(path, O_RDONLY);
    write(pipefd[1], "piped", 5);
    memset(buf, 0, sizeof buf);
    read(reader, buf, 5);
    same("/dev/fd/N of a pipe reads the pipe", buf, "piped");
    close(reader);
    int saved = dup(0);
    dup2(pipefd[0], 0);
    write(pipefd[1], "stdin", 5);
    int in = open("/dev/stdin", O_RDONLY);
    memset(buf, 0, sizeof buf);
    read(in, buf, 5);
    same("/dev/stdin is descriptor 0", buf, "stdin");
    close(in);
    dup2(saved, 0);
    close(saved);
    same("/dev/stdout", link_of("/dev/stdout"), "/proc/self/fd/1");
    same("/dev/fd", link_of("/dev/fd"), "/proc/self/fd");
    close(pipefd[0]);
    close(pipefd[1]);
    snprintf(path, sizeof path, "/proc/self/fd/%d", pipefd[0]);
    check("a closed descriptor has no link", access(path, F_OK) < 0 && errno == ENOENT, "still there");
}

/* eventfd counters and capget, as a program sees them */
static void counters(void)
{
    uint64_t value = 0;
    int fd = eventfd(3, EFD_NONBLOCK | EFD_CLOEXEC);
    check("eventfd", fd >= 0, strerror(errno));
    equal("eventfd: close-on-exec", fcntl(fd, F_GETFD), FD_CLOEXEC);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    same("eventfd: /proc/self/fd/N", link_of(path), "anon_inode:[eventfd]");
    read(fd, &value, 8);
    equal("eventfd: a read takes the count", value, 3);
    fails("eventfd: then nothing to read", read(fd, &value, 8), EAGAIN);
    value = 5;
    write(fd, &value, 8);
    value = 2;
    write(fd, &value, 8);
    struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLOUT};
    poll(&pfd, 1, 0);
    equal("eventfd: readable and writable", pfd.revents, POLLIN | POLLOUT);
    read(fd, &value, 8);
    equal("eventfd: writes add up", value, 7);
    fails("eventfd: a short read", read(fd, &value, 4), EINVAL);
    value = UINT64_MAX;
    fails("eventfd: 2^64-1 is not a value", write(fd, &value, 8), EINVAL);
    value = UINT64_MAX - 1;
    works("eventfd: up to 2^64-2", write(fd, &value, 8));
    value = 1;
    fails("eventfd: full", write(fd, &value, 8), EAGAIN);
    close(fd);
    fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    read(fd, &value, 8);
    equal("semaphore: one at a time", value, 1);
    read(fd, &value, 8);
    fails("semaphore: two taken, none left", read(fd, &value, 8), EAGAIN);
    close(fd);
    fails("eventfd: unknown flags", eventfd(0, 0x10), EINVAL);
    fd = eventfd(0, 0);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) { /* waits for the parent's write */
        uint64_t got = 0;
        _exit(read(fd, &got, 8) == 8 && got == 42 ? 0 : 1);
    }
    for (int i = 0; i < 5000; i++) {
        char name[64];
        snprintf(name, sizeof name, "/proc/%d/stat", (int)child);
        char *st = slurp(name, NULL);
        if (strstr(st, ") S ")) break;
        usleep(1000);
    }
    value = 42;
    write(fd, &value, 8);
    int status;
    waitpid(child, &status, 0);
    equal("eventfd: a blocked reader in another process wakes", WEXITSTATUS(status), 0);
    close(fd);
    struct {
        uint32_t version;
        int pid;
    } header = {0x12345678, 0};
    uint32_t sets[6] = {0};
    fails("capget: an unknown version", syscall(SYS_capget, &header, sets), EINVAL);
    equal("capget: says which it speaks", header.version, 0x20080522);
    header.version = 0x12345678;
    works("capget: asking the version only", syscall(SYS_capget, &header, NULL));
    works("capget", syscall(SYS_capget, &header, sets));
    check("capget: the superuser may chown", sets[0] & 1, "CAP_CHOWN missing");
    check("capget: effective is permitted", sets[0] == sets[1] && sets[3] == sets[4], "differ");
    equal("capget: nothing inheritable", sets[2] | sets[5], 0);
    header.pid = 0x7fffffff;
    fails("capget: no such process", syscall(SYS_capget, &header, sets), ESRCH);
}

static void other(void)
{
    int go[2], ready[2];
    pipe(go);
    pipe(ready);
    pid_t child = fork();
    if (child == 0) {
        close(go[1]);
        write(ready[1], "r", 1);
        char c;
        read(go[0], &c, 1); /* sleeps until the parent writes */
        _exit(3);
    }
    char c, path[64];
    read(ready[0], &c, 1);
    usleep(20000);
    snprintf(path, sizeof path, "/proc/%d/stat", child);
    char *s = slurp(path, NULL);
    equal("a sleeping child is S", stat_state(s), 'S');
    equal("its parent is me", stat_field(s, 4), getpid());
    snprintf(path, sizeof path, "/proc/%d/status", child);
    equal("its status names it", field(slurp(path, NULL), "Pid"), child);
    write(go[1], "g", 1);
    usleep(50000); /* it exits; nobody has waited yet */
    snprintf(path, sizeof path, "/proc/%d/stat", child);
    equal("an exited child is a zombie", stat_state(slurp(path, NULL)), 'Z');
    int status;
    waitpid(child, &status, 0);
    snprintf(path, sizeof path, "/proc/%d", child);
    check("a reaped child has no directory", access(path, F_OK) < 0 && errno == ENOENT, "still there");
}

static void system_files(void)
{
    struct sysinfo si;
    sysinfo(&si);
    char *s = slurp("/proc/meminfo", NULL);
    long long total = field(s, "MemTotal"), free_kb = field(s, "MemFree");
    check("meminfo: MemTotal > MemFree > 0", total > free_kb && free_kb > 0, s);
    equal("meminfo agrees with sysinfo", total, (long long)si.totalram * si.mem_unit / 1024);
    s = slurp("/proc/cpuinfo", NULL);
    int processors = 0;
    for (char *p = s; (p = strstr(p, "processor\t:")) != NULL; p++)
        processors++;
    s = slurp("/proc/stat", NULL);
    int cpus = 0;
    for (char *p = s; (p = strstr(p, "\ncpu")) != NULL; p++)
        cpus++;
    check("stat: a cpu line first", strncmp(s, "cpu ", 4) == 0, s);
    equal("one cpuN line per processor of cpuinfo", cpus, processors);
    check("stat: btime", strstr(s, "\nbtime ") != NULL, s);
    double up, idle;
    s = slurp("/proc/uptime", NULL);
    struct timespec boot;
    clock_gettime(CLOCK_BOOTTIME, &boot);
    check("uptime: two numbers", sscanf(s, "%lf %lf", &up, &idle) == 2, s);
    check("uptime is CLOCK_BOOTTIME", up <= boot.tv_sec + 1 && up >= boot.tv_sec - 1, s);
    double loads[3];
    int running, threads, last;
    s = slurp("/proc/loadavg", NULL);
    check("loadavg: five fields", sscanf(s, "%lf %lf %lf %d/%d %d", &loads[0], &loads[1], &loads[2],
                                         &running, &threads, &last) == 6 && running >= 1 && threads >= running,
          s);
    struct utsname u;
    uname(&u);
    char want[512];
    snprintf(want, sizeof want, "Linux version %s ", u.release);
    check("version: the release uname says", strncmp(slurp("/proc/version", NULL), want, strlen(want)) == 0, want);
    snprintf(want, sizeof want, "%s\n", u.release);
    same("sys/kernel/osrelease", slurp("/proc/sys/kernel/osrelease", NULL), want);
    same("sys/kernel/ostype", slurp("/proc/sys/kernel/ostype", NULL), "Linux\n");
    snprintf(want, sizeof want, "%s\n", u.nodename);
    same("sys/kernel/hostname", slurp("/proc/sys/kernel/hostname", NULL), want);
    check("sys/kernel/pid_max", atoll(slurp("/proc/sys/kernel/pid_max", NULL)) > getpid(), "pid_max");
    equal("sys/kernel/ngroups_max", atoll(slurp("/proc/sys/kernel/ngroups_max", NULL)), 65536);
    s = slurp("/proc/sys/vm/overcommit_memory", NULL);
    check("sys/vm/overcommit_memory", s[0] >= '0' && s[0] <= '2' && s[1] == '\n', s);
    s = slurp("/proc/filesystems", NULL);
    check("filesystems: proc and tmpfs", strstr(s, "\tproc\n") && strstr(s, "\ttmpfs\n"), s);
    s = slurp("/proc/mounts", NULL);
    char *best = NULL;
    size_t best_length = 0;
    for (char *line = s; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        char source[256], target[256], type[64];
        if (sscanf(line, "%255s %255s %63s", source, target, type) != 3)
            continue;
        size_t n = strlen(target);
        if (strncmp(dir, target, n) == 0 && (dir[n] == '/' || dir[n] == 0 || n == 1) && n >= best_length) {
            best_length = n;
            best = strstr(line, type);
        }
    }
    check("mounts: the scratch directory is on a tmpfs", best && strncmp(best, "tmpfs ", 6) == 0, s);
    check("mounts: a link to self/mounts", strcmp(link_of("/proc/mounts"), "self/mounts") == 0, link_of("/proc/mounts"));
    check("mounts: /proc is proc", strstr(s, " /proc proc ") != NULL, s);
}

int main(int argc, char **argv, char **envp)
{
    if (argc != 3) {
        fprintf(stderr, "usage: procfs GROUP DIR\n");
        return 2;
    }
    arguments = argv;
    snprintf(dir, sizeof dir, "%s", argv[2]);
    if (strcmp(argv[1], "self") == 0 && !getenv("PROCFS")) { /* again, with a known environment */
        char *env[] = {"PROCFS=environ", NULL};
        execve("/proc/self/exe", argv, env);
        perror("execve");
        return 1;
    }
    (void)envp;
    if (strcmp(argv[1], "self") == 0)
        self();
    else if (strcmp(argv[1], "exe") == 0)
        exe();
    else if (strcmp(argv[1], "fds") == 0)
        fds();
    else if (strcmp(argv[1], "counters") == 0)
        counters();
    else if (strcmp(argv[1], "other") == 0)
        other();
    else if (strcmp(argv[1], "system") == 0)
        system_files();
    else {
        fprintf(stderr, "procfs: unknown group %s\n", argv[1]);
        return 2;
    }
    return failures;
}
