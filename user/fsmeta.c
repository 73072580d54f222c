/* fsmeta: file metadata as a Linux program sees it, one group per argument, in a scratch
 * directory DIR (fsmeta GROUP DIR). The same program runs natively on Linux, where its output
 * must be the same: it prints only what does not depend on the machine.
 *   owners   chown, fchown, lchown, fchownat; set-id bits dropped by chown
 *   times    utimensat (UTIME_NOW, UTIME_OMIT, a link itself), futimens, utimes, futimesat, utime
 *   links    link, linkat, symlink, symlinkat, readlink, lstat, links followed in walks, ELOOP,
 *            O_NOFOLLOW, O_CREAT through a dangling link, '..' after a link
 *   fifo     mkfifo, opens that wait for the other end, ENXIO, data between two processes,
 *            mknod of a regular file; a pipe's size (F_GETPIPE_SZ, F_SETPIPE_SZ)
 *   space    fallocate (grow, keep size, punch a hole), fadvise, statfs, fstatfs, sync, syncfs
 *   ids      getuid..getresgid, setgroups, setresuid and the owner of files made meanwhile,
 *            permission checks for a non-superuser, getpriority, personality, ioprio_get,
 *            scheduling policies (sched_setscheduler, sched_getparam, inheritance, /proc)
 *   locks    fcntl record locks across fork (conflicts, F_GETLK, F_SETLKW waiting, EDEADLK,
 *            any close drops a process's locks), OFD locks, flock
 *   chroot   chroot into a directory of DIR
 *   dots     '.' and '..' in listings, '..' naming the parent
 * Each check prints "ok NAME" or "FAIL NAME: ..."; the exit status is the number of failures.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "checks.h"

static char dir[256];

static const char *at(const char *name)
{
    static char paths[8][512];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, 512, "%s/%s", dir, name);
    return path;
}

static void put(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) < 0)
        printf("FAIL put %s: %s\n", path, strerror(errno));
    close(fd);
}

static const char *get(const char *path)
{
    static char buffer[256];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buffer, sizeof buffer - 1);
    buffer[n < 0 ? 0 : n] = 0;
    if (fd >= 0)
        close(fd);
    return buffer;
}

/* ---------------------------------------------------------------------------------------- */

static void owners(void)
{
    struct stat st;
    put(at("owned"), "x");
    works("chown", chown(at("owned"), 1000, 2000));
    stat(at("owned"), &st);
    equal("chown uid", st.st_uid, 1000);
    equal("chown gid", st.st_gid, 2000);
    works("chown -1 keeps the owner", chown(at("owned"), -1, 3000));
    stat(at("owned"), &st);
    equal("chown -1 uid", st.st_uid, 1000);
    equal("chown -1 gid", st.st_gid, 3000);
    int fd = open(at("owned"), O_RDONLY);
    works("fchown", fchown(fd, 7, 8));
    fstat(fd, &st);
    equal("fchown uid", st.st_uid, 7);
    equal("fchown gid", st.st_gid, 8);
    close(fd);
    symlink("owned", at("owned-link"));
    works("lchown", lchown(at("owned-link"), 11, 12));
    lstat(at("owned-link"), &st);
    equal("lchown changes the link", st.st_uid, 11);
    stat(at("owned-link"), &st);
    equal("lchown leaves the target", st.st_uid, 7);
    works("fchownat nofollow", fchownat(AT_FDCWD, at("owned-link"), 21, 22, AT_SYMLINK_NOFOLLOW));
    lstat(at("owned-link"), &st);
    equal("fchownat nofollow uid", st.st_uid, 21);
    works("fchownat follows", fchownat(AT_FDCWD, at("owned-link"), 31, 32, 0));
    stat(at("owned"), &st);
    equal("fchownat follows uid", st.st_uid, 31);
    chmod(at("owned"), 06755);
    stat(at("owned"), &st);
    equal("chmod keeps set-id bits", st.st_mode & 07777, 06755);
    chown(at("owned"), 0, 0);
    stat(at("owned"), &st);
    equal("chown drops set-id bits of a group-executable file", st.st_mode & 07777, 0755);
    chmod(at("owned"), 02745);
    chown(at("owned"), 0, 0);
    stat(at("owned"), &st);
    equal("chown keeps set-group-id without group execute", st.st_mode & 07777, 02745);
    fails("chown of nothing", chown(at("missing"), 1, 1), ENOENT);
}

static void times(void)
{
    struct stat st;
    put(at("timed"), "x");
    struct timespec set[2] = {{1000000000, 5}, {1200000000, 700}};
    works("utimensat", utimensat(AT_FDCWD, at("timed"), set, 0));
    stat(at("timed"), &st);
    equal("atime", st.st_atim.tv_sec, 1000000000);
    equal("atime ns", st.st_atim.tv_nsec, 5);
    equal("mtime", st.st_mtim.tv_sec, 1200000000);
    equal("mtime ns", st.st_mtim.tv_nsec, 700);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {1300000000, 0}};
    utimensat(AT_FDCWD, at("timed"), omit, 0);
    stat(at("timed"), &st);
    equal("UTIME_OMIT keeps atime", st.st_atim.tv_sec, 1000000000);
    equal("mtime changed", st.st_mtim.tv_sec, 1300000000);
    time_t before = time(NULL);
    struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    utimensat(AT_FDCWD, at("timed"), now, 0);
    stat(at("timed"), &st);
    check("UTIME_NOW is now", st.st_atim.tv_sec >= before && st.st_atim.tv_sec <= time(NULL) + 1, "atime");
    equal("UTIME_NOW leaves the other", st.st_mtim.tv_sec, 1300000000);
    check("ctime follows changes", st.st_ctim.tv_sec >= before, "ctime");
    int fd = open(at("timed"), O_RDONLY);
    struct timespec both[2] = {{1400000000, 0}, {1500000000, 0}};
    works("futimens", futimens(fd, both));
    fstat(fd, &st);
    equal("futimens mtime", st.st_mtim.tv_sec, 1500000000);
    close(fd);
    struct timeval tv[2] = {{1600000000, 3}, {1610000000, 4}};
    works("utimes", utimes(at("timed"), tv));
    stat(at("timed"), &st);
    equal("utimes mtime", st.st_mtim.tv_sec, 1610000000);
    equal("utimes micro", st.st_mtim.tv_nsec, 4000);
    works("futimesat", syscall(SYS_futimesat, AT_FDCWD, at("timed"), tv));
    struct utimbuf buf = {1700000001, 1700000002};
    works("utime", utime(at("timed"), &buf));
    stat(at("timed"), &st);
    equal("utime mtime", st.st_mtim.tv_sec, 1700000002);
    symlink("timed", at("timed-link"));
    struct timespec old[2] = {{100, 0}, {200, 0}};
    works("utimensat nofollow", utimensat(AT_FDCWD, at("timed-link"), old, AT_SYMLINK_NOFOLLOW));
    lstat(at("timed-link"), &st);
    equal("the link's own mtime", st.st_mtim.tv_sec, 200);
    stat(at("timed-link"), &st);
    equal("the target's untouched", st.st_mtim.tv_sec, 1700000002);
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    fails("utimensat bad ns", utimensat(AT_FDCWD, at("timed"), bad, 0), EINVAL);
    before = time(NULL);
    works("utimensat NULL", utimensat(AT_FDCWD, at("timed"), NULL, 0));
    stat(at("timed"), &st);
    check("NULL means now", st.st_mtim.tv_sec >= before, "mtime");
    put(at("written"), "x");
    struct timespec past[2] = {{5, 0}, {5, 0}};
    utimensat(AT_FDCWD, at("written"), past, 0);
    fd = open(at("written"), O_WRONLY);
    write(fd, "y", 1);
    fstat(fd, &st);
    check("a write moves mtime", st.st_mtim.tv_sec >= before, "mtime");
    close(fd);
}

static void links(void)
{
    struct stat st, st2;
    char buf[256];
    put(at("file"), "hello");
    works("link", link(at("file"), at("hard")));
    stat(at("file"), &st);
    stat(at("hard"), &st2);
    equal("two names", st.st_nlink, 2);
    check("one inode", st.st_ino == st2.st_ino, "inodes differ");
    same("read through the other name", get(at("hard")), "hello");
    unlink(at("file"));
    stat(at("hard"), &st);
    equal("one name left", st.st_nlink, 1);
    fails("link over a name", link(at("hard"), at("hard")), EEXIST);
    mkdir(at("d"), 0755);
    fails("link a directory", link(at("d"), at("d2")), EPERM);
    fails("link of nothing", link(at("missing"), at("x")), ENOENT);
    works("symlink", symlink("hard", at("soft")));
    ssize_t n = readlink(at("soft"), buf, sizeof buf);
    buf[n < 0 ? 0 : n] = 0;
    same("readlink", buf, "hard");
    n = readlink(at("soft"), buf, 2);
    equal("readlink truncates", n, 2);
    lstat(at("soft"), &st);
    check("lstat sees a link", S_ISLNK(st.st_mode), "not a link");
    equal("a link's size is its target's length", st.st_size, 4);
    stat(at("soft"), &st);
    check("stat follows", S_ISREG(st.st_mode) && st.st_size == 5, "not the file");
    same("open follows", get(at("soft")), "hello");
    fails("readlink of a file", readlink(at("hard"), buf, sizeof buf), EINVAL);
    fails("O_NOFOLLOW", open(at("soft"), O_RDONLY | O_NOFOLLOW), ELOOP);
    symlinkat("loop2", AT_FDCWD, at("loop1"));
    symlinkat("loop1", AT_FDCWD, at("loop2"));
    fails("a loop", open(at("loop1"), O_RDONLY), ELOOP);
    symlink("nowhere", at("dangling"));
    fails("a dangling link", open(at("dangling"), O_RDONLY), ENOENT);
    int fd = open(at("dangling"), O_WRONLY | O_CREAT, 0600);
    works("O_CREAT through a dangling link", fd);
    close(fd);
    check("made its target", access(at("nowhere"), F_OK) == 0, "no target");
    fails("O_EXCL on a link", open(at("soft"), O_WRONLY | O_CREAT | O_EXCL, 0600), EEXIST);
    mkdir(at("d/sub"), 0755);
    put(at("d/sub/deep"), "deep");
    symlink("d/sub", at("tosub"));
    same("a path through a link", get(at("tosub/deep")), "deep");
    put(at("d/up"), "up");
    same("'..' after a link climbs from its target", get(at("tosub/../up")), "up");
    char abs[512];
    snprintf(abs, sizeof abs, "%s/d/sub", dir);
    symlink(abs, at("absolute"));
    same("an absolute link", get(at("absolute/deep")), "deep");
    works("chdir through a link", chdir(at("tosub")));
    char cwd[512], want[512];
    getcwd(cwd, sizeof cwd);
    snprintf(want, sizeof want, "%s/d/sub", dir);
    same("getcwd names the target", cwd, want);
    chdir("/");
    works("rename a link", rename(at("soft"), at("soft2")));
    n = readlink(at("soft2"), buf, sizeof buf);
    buf[n < 0 ? 0 : n] = 0;
    same("renamed link", buf, "hard");
    works("unlink a link", unlink(at("soft2")));
    check("the target stays", access(at("hard"), F_OK) == 0, "gone");
    symlink("d", at("dirlink"));
    fails("rmdir of a link", rmdir(at("dirlink")), ENOTDIR);
    works("linkat follow", linkat(AT_FDCWD, at("dirlink/up"), AT_FDCWD, at("up2"), AT_SYMLINK_FOLLOW));
    symlink("hard", at("soft3"));
    works("linkat a link itself", linkat(AT_FDCWD, at("soft3"), AT_FDCWD, at("soft4"), 0));
    lstat(at("soft4"), &st);
    check("a hard link to a link", S_ISLNK(st.st_mode) && st.st_nlink == 2, "not the link");
    fails("symlink over a name", symlink("x", at("hard")), EEXIST);
    fails("an empty target", symlink("", at("empty")), ENOENT);
}

static void pipe_sizes(void)
{
    int p[2];
    pipe(p);
    equal("F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ), 65536);
    equal("F_SETPIPE_SZ rounds up to a power of two pages", fcntl(p[1], F_SETPIPE_SZ, 5000), 8192);
    equal("the other end has the size", fcntl(p[0], F_GETPIPE_SZ), 8192);
    static char page[4096];
    equal("two pages fit", write(p[1], page, sizeof page) + write(p[1], page, sizeof page), 8192);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    fails("a third does not", write(p[1], page, 1), EAGAIN);
    fails("smaller than what it holds", fcntl(p[1], F_SETPIPE_SZ, 4096), EBUSY);
    read(p[0], page, sizeof page);
    equal("at least a page", fcntl(p[1], F_SETPIPE_SZ, 1), 4096);
    fails("full again", write(p[1], page, 1), EAGAIN);
    close(p[0]);
    close(p[1]);
    int plain = open(at("plain"), O_RDONLY);
    fails("F_GETPIPE_SZ of a file", fcntl(plain, F_GETPIPE_SZ), EBADF);
    close(plain);
}

static void fifo(void)
{
    struct stat st;
    works("mkfifo", mkfifo(at("fifo"), 0600));
    stat(at("fifo"), &st);
    check("a FIFO", S_ISFIFO(st.st_mode), "not a FIFO");
    equal("its mode", st.st_mode & 0777, 0600);
    fails("mkfifo over a name", mkfifo(at("fifo"), 0600), EEXIST);
    fails("a writer without reader, O_NONBLOCK", open(at("fifo"), O_WRONLY | O_NONBLOCK), ENXIO);
    int reader = open(at("fifo"), O_RDONLY | O_NONBLOCK);
    works("a reader without writer, O_NONBLOCK", reader);
    char buf[64];
    equal("no writer yet: end of file", read(reader, buf, sizeof buf), 0);
    close(reader);
    pid_t child = fork();
    if (child == 0) {
        int w = open(at("fifo"), O_WRONLY); /* waits for the parent's reader */
        write(w, "through the fifo", 16);
        close(w);
        _exit(0);
    }
    int r = open(at("fifo"), O_RDONLY); /* waits for the child's writer */
    works("open waits for the writer", r);
    int total = 0;
    ssize_t n;
    while ((n = read(r, buf + total, sizeof buf - 1 - total)) > 0)
        total += n;
    buf[total] = 0;
    same("read from another process", buf, "through the fifo");
    equal("end of file after the writer closes", n, 0);
    close(r);
    int status;
    waitpid(child, &status, 0);
    int both = open(at("fifo"), O_RDWR);
    works("O_RDWR does not wait", both);
    write(both, "x", 1);
    equal("read back", read(both, buf, 1), 1);
    close(both);
    works("mknod of a regular file", mknod(at("plain"), S_IFREG | 0640, 0));
    stat(at("plain"), &st);
    check("a regular file", S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0640, "mode");
    pipe_sizes();
}

static void space(void)
{
    struct stat st;
    int fd = open(at("space"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "abcdefgh", 8);
    works("fallocate grows", fallocate(fd, 0, 0, 100));
    fstat(fd, &st);
    equal("new size", st.st_size, 100);
    works("fallocate within", fallocate(fd, 0, 10, 20));
    fstat(fd, &st);
    equal("size kept", st.st_size, 100);
    works("keep size", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4096));
    fstat(fd, &st);
    equal("size still", st.st_size, 100);
    works("punch a hole", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2, 3));
    char buf[9] = {0};
    pread(fd, buf, 8, 0);
    check("the hole reads as zeros", memcmp(buf, "ab\0\0\0fgh", 8) == 0, buf);
    fails("fallocate zero length", fallocate(fd, 0, 0, 0), EINVAL);
    fails("fallocate negative offset", fallocate(fd, 0, -1, 10), EINVAL);
    close(fd);
    fd = open(at("space"), O_RDONLY);
    fails("fallocate read-only", fallocate(fd, 0, 0, 200), EBADF);
    close(fd);
    int pipefd[2];
    pipe(pipefd);
    fails("fallocate a pipe", fallocate(pipefd[1], 0, 0, 10), ESPIPE);
    fd = open(at("space"), O_RDONLY);
    works("fadvise sequential", syscall(SYS_fadvise64, fd, 0, 0, POSIX_FADV_SEQUENTIAL));
    works("fadvise dontneed", syscall(SYS_fadvise64, fd, 0, 4096, POSIX_FADV_DONTNEED));
    fails("fadvise unknown advice", syscall(SYS_fadvise64, fd, 0, 0, 9), EINVAL);
    /* no backing device (tmpfs, and every kernkit device): only the advice is checked */
    works("fadvise negative length", syscall(SYS_fadvise64, fd, 0, -1, 0));
    fails("fadvise a pipe", syscall(SYS_fadvise64, pipefd[0], 0, 0, 0), ESPIPE);
    fails("fadvise of nothing", syscall(SYS_fadvise64, 99, 0, 0, 0), EBADF);
    close(fd);
    close(pipefd[0]);
    close(pipefd[1]);
    struct statfs fs;
    works("statfs", statfs(dir, &fs));
    check("a tmpfs", fs.f_type == 0x01021994, "f_type");
    check("with blocks", fs.f_blocks > 0 && fs.f_bfree <= fs.f_blocks && fs.f_bsize > 0, "f_blocks");
    check("and files", fs.f_files > 0 && fs.f_ffree <= fs.f_files, "f_files");
    equal("name length", fs.f_namelen, 255);
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    struct statfs fs2;
    works("fstatfs", fstatfs(fd, &fs2));
    equal("the same file system", fs2.f_type, fs.f_type);
    sync();
    works("syncfs", syncfs(fd));
    close(fd);
    fails("syncfs of nothing", syncfs(99), EBADF);
    fails("statfs of nothing", statfs(at("missing"), &fs), ENOENT);
}

/* the stat field `n` (1-based) of /proc/self/stat */
static long long self_stat_field(int n)
{
    char buf[1024] = {0};
    int fd = open("/proc/self/stat", O_RDONLY);
    read(fd, buf, sizeof buf - 1);
    close(fd);
    char *p = strrchr(buf, ')');
    for (int field = 2; p && field < n; field++)
        p = strchr(p + 1, ' ');
    return p ? atoll(p + 1) : -1;
}

/* musl's wrappers of these are stubs that say ENOSYS: call the kernel */
static long sched_set(pid_t pid, int policy, const struct sched_param *param)
{
    return syscall(SYS_sched_setscheduler, pid, policy, param);
}
static long sched_get(pid_t pid) { return syscall(SYS_sched_getscheduler, pid); }
static long sched_param_get(pid_t pid, struct sched_param *param)
{
    return syscall(SYS_sched_getparam, pid, param);
}

/* a child's policy and priority, as its exit status: policy * 16 + priority */
static int in_child_policy(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct sched_param param;
        sched_param_get(0, &param);
        _exit((sched_get(0) & 0xf) * 16 + param.sched_priority);
    }
    int status;
    waitpid(pid, &status, 0);
    return WEXITSTATUS(status);
}

static void sched_policies(void)
{
    struct sched_param param = {.sched_priority = 0};
    equal("sched_getscheduler", sched_get(0), SCHED_OTHER);
    equal("SCHED_FIFO's highest priority", sched_get_priority_max(SCHED_FIFO), 99);
    equal("SCHED_RR's lowest priority", sched_get_priority_min(SCHED_RR), 1);
    equal("SCHED_OTHER's priorities", sched_get_priority_max(SCHED_OTHER), 0);
    fails("priorities of no policy", sched_get_priority_max(42), EINVAL);
    works("SCHED_BATCH", sched_set(0, SCHED_BATCH, &param));
    equal("SCHED_BATCH kept", sched_get(0), SCHED_BATCH);
    param.sched_priority = 5;
    fails("SCHED_OTHER with a priority", sched_set(0, SCHED_OTHER, &param), EINVAL);
    fails("an unknown policy", sched_set(0, 4, &param), EINVAL);
    fails("a negative pid", sched_get(-1), EINVAL);
    fails("no such process", sched_get(0x7fffffff), ESRCH);
    works("SCHED_FIFO at 5", sched_set(0, SCHED_FIFO, &param));
    param.sched_priority = 0;
    fails("SCHED_FIFO at 0", sched_set(0, SCHED_FIFO, &param), EINVAL);
    sched_param_get(0, &param);
    equal("sched_getparam", param.sched_priority, 5);
    param.sched_priority = 7;
    works("sched_setparam", syscall(SYS_sched_setparam, 0, &param));
    equal("a child inherits policy and priority", in_child_policy(), SCHED_FIFO * 16 + 7);
    param.sched_priority = 3;
    works("SCHED_RR, reset on fork", sched_set(0, SCHED_RR | SCHED_RESET_ON_FORK, &param));
    equal("the policy says so", sched_get(0), SCHED_RR | SCHED_RESET_ON_FORK);
    equal("a child starts normal", in_child_policy(), 0);
    equal("/proc/self/stat rt_priority", self_stat_field(40), 3);
    equal("/proc/self/stat policy", self_stat_field(41), SCHED_RR);
    param.sched_priority = 0;
    works("back to SCHED_OTHER", sched_set(0, SCHED_OTHER, &param));
    setresuid(1000, 1000, 0);
    param.sched_priority = 1;
    fails("a real-time policy as a user", sched_set(0, SCHED_FIFO, &param), EPERM);
    setresuid(0, 0, 0);
}

static void ids(void)
{
    uid_t r, e, s;
    equal("getuid", getuid(), 0);
    equal("geteuid", geteuid(), 0);
    equal("getgid", getgid(), 0);
    gid_t groups[4] = {5, 6, 7};
    works("setgroups", setgroups(3, groups));
    gid_t got[8];
    int count = getgroups(8, got);
    equal("getgroups", count, 3);
    equal("getgroups member", got[1], 6);
    equal("getgroups size 0 counts", getgroups(0, NULL), 3);
    fails("getgroups too small", getgroups(1, got), EINVAL);
    chmod(dir, 0755); /* others may look in */
    mkdir(at("mine"), 0777);
    chmod(at("mine"), 0777); /* past the umask */
    put(at("secret"), "root's");
    chmod(at("secret"), 0600);
    put(at("public"), "anyone's");
    chmod(at("public"), 0444);
    works("setresgid", setresgid(100, 100, 0));
    works("setresuid", setresuid(1000, 1000, 0));
    getresuid(&r, &e, &s);
    equal("getresuid real", r, 1000);
    equal("getresuid saved", s, 0);
    gid_t gr, ge, gs;
    getresgid(&gr, &ge, &gs);
    equal("getresgid effective", ge, 100);
    equal("geteuid now", geteuid(), 1000);
    put(at("mine/made"), "x");
    struct stat st;
    stat(at("mine/made"), &st);
    equal("a new file's owner", st.st_uid, 1000);
    equal("a new file's group", st.st_gid, 100);
    fails("open another's 0600 file", open(at("secret"), O_RDONLY), EACCES);
    fails("access another's 0600 file", access(at("secret"), R_OK), EACCES);
    fails("write a 0444 file", open(at("public"), O_WRONLY), EACCES);
    works("read a 0444 file", access(at("public"), R_OK));
    fails("chown as a user", chown(at("mine/made"), 0, 0), EPERM);
    fails("unlink in another's directory", unlink(at("public")), EACCES);
    fails("rename in another's directory", rename(at("public"), at("mine/public")), EACCES);
    works("unlink in a directory open to all", unlink(at("mine/made")));
    fails("setgroups as a user", setgroups(0, NULL), EPERM);
    fails("setuid to someone else", setuid(2000), EPERM);
    works("back to the superuser (saved id)", setresuid(0, 0, 0));
    works("write a 0444 file as the superuser", open(at("public"), O_WRONLY));
    works("read a 0600 file as the superuser", open(at("secret"), O_RDONLY));
    works("setresgid back", setresgid(0, 0, 0));
    works("setuid as the superuser", setuid(0));
    errno = 0;
    equal("getpriority", getpriority(PRIO_PROCESS, 0), 0);
    works("setpriority", setpriority(PRIO_PROCESS, 0, 5));
    equal("getpriority after", getpriority(PRIO_PROCESS, 0), 5);
    fails("getpriority bad which", getpriority(7, 0), EINVAL);
    equal("personality", personality(0xffffffff), 0);
    equal("ioprio_get", syscall(SYS_ioprio_get, 1, 0), 0);
    sched_policies();
}

/* --- locks ---------------------------------------------------------------------------------- */

static int lock(int fd, int cmd, short type, off_t start, off_t len)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

static void tell(int fd, char c) { write(fd, &c, 1); }
static char hear(int fd)
{
    char c = 0;
    read(fd, &c, 1);
    return c;
}

static void locks(void)
{
    put(at("locked"), "0123456789");
    int fd = open(at("locked"), O_RDWR);
    works("a write lock", lock(fd, F_SETLK, F_WRLCK, 0, 10));
    works("my own lock again", lock(fd, F_SETLK, F_RDLCK, 0, 5));
    int to_child[2], to_parent[2];
    pipe(to_child);
    pipe(to_parent);
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        int cfd = open(at("locked"), O_RDWR);
        fails("child: conflicts", lock(cfd, F_SETLK, F_WRLCK, 8, 4), EAGAIN);
        works("child: a range nobody holds", lock(cfd, F_SETLK, F_WRLCK, 10, 5));
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
        fcntl(cfd, F_GETLK, &fl);
        equal("child: F_GETLK names the holder", fl.l_pid, parent);
        equal("child: F_GETLK says the lock's type", fl.l_type, F_RDLCK);
        equal("child: and where it starts", fl.l_start, 0);
        fl.l_type = F_RDLCK;
        fl.l_start = 6;
        fcntl(cfd, F_GETLK, &fl);
        equal("child: a read lock conflicts with the write part", fl.l_start, 5);
        equal("child: which is this long", fl.l_len, 5);
        tell(to_parent[1], 'a');
        works("child: F_SETLKW waits", lock(cfd, F_SETLKW, F_WRLCK, 0, 10));
        tell(to_parent[1], 'b'); /* the parent let go */
        hear(to_child[0]);
        /* deadlock: the child holds 0..10 and waits for the parent's 20..30 ... */
        int dead = lock(cfd, F_SETLKW, F_WRLCK, 20, 1);
        works("child: got it once the parent gave up", dead);
        close(cfd);
        _exit(failures);
    }
    hear(to_parent[0]);
    lock(fd, F_SETLK, F_UNLCK, 0, 0); /* the child, waiting, takes it now */
    equal("parent: the child took the lock", hear(to_parent[0]), 'b');
    fails("parent: now it is the child's", lock(fd, F_SETLK, F_RDLCK, 3, 1), EAGAIN);
    works("parent: a lock at 20", lock(fd, F_SETLK, F_WRLCK, 20, 10));
    tell(to_child[1], 'c');
    usleep(100000); /* the child is waiting for 20..30 */
    fails("parent: waiting for the child would deadlock", lock(fd, F_SETLKW, F_WRLCK, 0, 1), EDEADLK);
    int other = open(at("locked"), O_RDONLY);
    close(other); /* any close of the file drops this process's locks: the child gets 20 */
    int status;
    waitpid(child, &status, 0);
    equal("child's checks", WEXITSTATUS(status), 0);
    works("parent: everything free after the child's exit", lock(fd, F_SETLK, F_WRLCK, 0, 0));
    close(fd);

    /* OFD locks belong to the open file: a second open in the same process conflicts */
    int a = open(at("locked"), O_RDWR), b = open(at("locked"), O_RDWR);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 4};
    works("OFD lock", fcntl(a, F_OFD_SETLK, &fl));
    fails("OFD conflict in one process", fcntl(b, F_OFD_SETLK, &fl), EAGAIN);
    int dup_a = dup(a);
    works("OFD through a dup", fcntl(dup_a, F_OFD_SETLK, &fl));
    struct flock probe = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    fcntl(b, F_OFD_GETLK, &probe);
    equal("OFD F_GETLK pid", probe.l_pid, -1);
    struct flock bad = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_pid = 1};
    fails("OFD with a pid", fcntl(b, F_OFD_SETLK, &bad), EINVAL);
    close(a);
    fails("the dup keeps it", fcntl(b, F_OFD_SETLK, &fl), EAGAIN);
    close(dup_a);
    works("gone with the last descriptor", fcntl(b, F_OFD_SETLK, &fl));
    close(b);

    /* flock: shared by dups and fork, conflicting between opens */
    int f1 = open(at("locked"), O_RDONLY), f2 = open(at("locked"), O_RDONLY);
    works("flock exclusive", flock(f1, LOCK_EX));
    fails("flock conflict", flock(f2, LOCK_SH | LOCK_NB), EWOULDBLOCK);
    child = fork();
    if (child == 0) {
        int ok = flock(f1, LOCK_EX | LOCK_NB) == 0; /* the same open file: its own lock */
        int blocked = flock(f2, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
        _exit(ok && blocked ? 0 : 1);
    }
    waitpid(child, &status, 0);
    equal("flock belongs to the open file", WEXITSTATUS(status), 0);
    child = fork();
    if (child == 0) {
        tell(to_parent[1], 'w');
        int got = flock(f2, LOCK_SH); /* waits for the parent's unlock */
        _exit(got == 0 ? 0 : 1);
    }
    hear(to_parent[0]);
    usleep(50000);
    works("flock unlock", flock(f1, LOCK_UN));
    waitpid(child, &status, 0);
    equal("a waiting flock is granted", WEXITSTATUS(status), 0);
    fails("flock bad operation", flock(f1, 3), EINVAL);
    fails("record lock needs write access", lock(f1, F_SETLK, F_WRLCK, 0, 1), EBADF);
    close(f1);
    close(f2);
}

static void do_chroot(void)
{
    mkdir(at("jail"), 0755);
    mkdir(at("jail/inside"), 0755);
    put(at("jail/inside/f"), "jailed");
    pid_t child = fork();
    if (child == 0) {
        works("chroot", chroot(at("jail")));
        works("chdir /", chdir("/"));
        same("a file under the new root", get("/inside/f"), "jailed");
        same("'..' stops at the new root", get("/../../inside/f"), "jailed");
        char cwd[64];
        getcwd(cwd, sizeof cwd);
        same("getcwd", cwd, "/");
        fails("chroot a file", chroot("/inside/f"), ENOTDIR);
        _exit(failures);
    }
    int status;
    waitpid(child, &status, 0);
    equal("the child's checks", WEXITSTATUS(status), 0);
    check("the parent's root is its own", access(at("jail/inside/f"), F_OK) == 0, "lost");
}

static int listed(const char *path, const char *name, ino_t *ino)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, name) == 0) {
            found = 1;
            *ino = e->d_ino;
        }
    if (d)
        closedir(d);
    return found;
}

static void dots(void)
{
    mkdir(at("listed"), 0755);
    ino_t ino;
    struct stat st;
    check("'.' listed", listed(at("listed"), ".", &ino), "missing");
    stat(at("listed"), &st);
    check("'.' is the directory", st.st_ino == ino, "inode");
    check("'..' listed", listed(at("listed"), "..", &ino), "missing");
    stat(dir, &st);
    check("'..' is the parent", st.st_ino == ino, "inode");
    check("'.' in the scratch directory", listed(dir, ".", &ino), "missing");
    check("'..' in the scratch directory", listed(dir, "..", &ino), "missing");
    check("'.' in /", listed("/", ".", &ino), "missing");
    check("'..' in /", listed("/", "..", &ino), "missing");
    check("no entry has inode 0", ino != 0, "zero");
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fsmeta GROUP DIR\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[2]);
    umask(022);
    const char *group = argv[1];
    if (strcmp(group, "owners") == 0)
        owners();
    else if (strcmp(group, "times") == 0)
        times();
    else if (strcmp(group, "links") == 0)
        links();
    else if (strcmp(group, "fifo") == 0)
        fifo();
    else if (strcmp(group, "space") == 0)
        space();
    else if (strcmp(group, "ids") == 0)
        ids();
    else if (strcmp(group, "locks") == 0)
        locks();
    else if (strcmp(group, "chroot") == 0)
        do_chroot();
    else if (strcmp(group, "dots") == 0)
        dots();
    else {
        fprintf(stderr, "fsmeta: unknown group %s\n", group);
        return 2;
    }
    return failures;
}
