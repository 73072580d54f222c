/* fstest: checks of the file system calls, from inside a kernel, one group per argument.
 *   errors   errno values: ENOENT, EROFS, EISDIR, ENOTDIR, EEXIST, ENOTEMPTY, EBUSY, EFAULT,
 *            ENAMETOOLONG, EBADF, ESPIPE, EXDEV, EACCES, ERANGE, EINVAL
 *   io       read, write, pread, pwrite, lseek, O_APPEND, O_TRUNC, ftruncate, fstat, statx
 *   dirs     mkdir, getdents, rename, chdir, getcwd, fchdir, openat/mkdirat/unlinkat with a
 *            directory descriptor, '..' never above / or a #device
 *   fds      dup, dup2, dup3, fcntl, close_range; descriptors share offsets; close-on-exec across execve
 *   fdcheck N...  (run by "fds" through execve) prints which descriptors are open
 *   pipe     a pipe between two processes, end of file, SIGPIPE, O_NONBLOCK
 *   fork     a child shares its parent's open files and offsets
 *   ns       bind and unions (before, after, create), sharing across fork, unshare
 *   srv      a pipe end posted in /srv and opened by another process
 *   post     put "posted\n" in a pipe, post its read end as /srv/box and exit
 *   proc     /proc/self, #proc/PID/status and Linux's /proc/PID/status, killing through /proc/PID/ctl
 *   exec     programs run from #tmpfs; EACCES without execute permission
 * Each check prints "ok NAME" or "FAIL NAME: ..."; the exit status is the number of failures.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checks.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static const char *self_path;

static void put(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        printf("FAIL put %s: %s\n", path, strerror(errno));
        failures++;
    }
    if (fd >= 0)
        close(fd);
}

static const char *get(const char *path)
{
    static char buf[4096];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return strerror(errno);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = '\0';
    return buf;
}

static void errors(void)
{
    char big[5000];
    fails("open missing: ENOENT", open("/tmp/none", O_RDONLY), ENOENT);
    fails("open in missing dir: ENOENT", open("/none/x", O_RDONLY), ENOENT);
    fails("write to read-only root: EROFS", open("/bin/hello", O_WRONLY), EROFS);
    fails("create in read-only root: EROFS", open("/newfile", O_WRONLY | O_CREAT, 0644), EROFS);
    fails("mkdir in read-only root: EROFS", mkdir("/newdir", 0755), EROFS);
    fails("unlink in read-only root: EROFS", unlink("/bin/hello"), EROFS);
    fails("access W_OK on root: EROFS", access("/bin/hello", W_OK), EROFS);
    fails("open dir for writing: EISDIR", open("/tmp", O_WRONLY), EISDIR);
    put("/tmp/file", "data");
    fails("walk through a file: ENOTDIR", open("/tmp/file/x", O_RDONLY), ENOTDIR);
    fails("trailing slash on a file: ENOTDIR", open("/tmp/file/", O_RDONLY), ENOTDIR);
    fails("O_DIRECTORY on a file: ENOTDIR", open("/tmp/file", O_RDONLY | O_DIRECTORY), ENOTDIR);
    fails("O_EXCL on existing: EEXIST", open("/tmp/file", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    fails("mkdir existing: EEXIST", mkdir("/tmp/file", 0755), EEXIST);
    fails("unlink a directory: EISDIR", unlink("/tmp"), EISDIR);
    fails("rmdir a file: ENOTDIR", rmdir("/tmp/file"), ENOTDIR);
    mkdir("/tmp/full", 0755);
    put("/tmp/full/x", "x");
    fails("rmdir non-empty: ENOTEMPTY", rmdir("/tmp/full"), ENOTEMPTY);
    fails("rmdir a mount point: EBUSY", rmdir("/tmp"), EBUSY);
    fails("rename across devices: EXDEV", rename("/tmp/file", "/srv/file"), EXDEV);
    fails("bad path pointer: EFAULT", open((const char *)8, O_RDONLY), EFAULT);
    fails("bad stat buffer: EFAULT", syscall(SYS_newfstatat, AT_FDCWD, "/tmp/file", (void *)8, 0), EFAULT);
    memset(big, 'a', 300);
    big[0] = '/';
    big[300] = '\0';
    fails("name over 255 bytes: ENAMETOOLONG", open(big, O_RDONLY), ENAMETOOLONG);
    memset(big, 'a', sizeof big);
    for (int i = 0; i < (int)sizeof big - 1; i += 100)
        big[i] = '/';
    big[sizeof big - 1] = '\0';
    fails("path over PATH_MAX: ENAMETOOLONG", open(big, O_RDONLY), ENAMETOOLONG);
    fails("close a closed fd: EBADF", close(99), EBADF);
    fails("read a closed fd: EBADF", read(99, big, 1), EBADF);
    int fd = open("/tmp/file", O_RDONLY);
    fails("write a read-only fd: EBADF", write(fd, "x", 1), EBADF);
    fails("read into a bad buffer: EFAULT", read(fd, (void *)8, 4), EFAULT);
    char buf[8] = {0};
    equal("bad buffer consumed nothing", read(fd, buf, 4), 4);
    close(fd);
    fd = open("/tmp/file", O_WRONLY);
    fails("read a write-only fd: EBADF", read(fd, buf, 1), EBADF);
    close(fd);
    int fds[2];
    pipe(fds);
    fails("lseek on a pipe: ESPIPE", lseek(fds[0], 0, SEEK_SET), ESPIPE);
    fails("pread on a pipe: ESPIPE", pread(fds[0], buf, 1, 0), ESPIPE);
    close(fds[0]);
    close(fds[1]);
    fails("create in a union without -c: EACCES", open("/dev/newfile", O_WRONLY | O_CREAT, 0644), EACCES);
    fails("getcwd into a small buffer: ERANGE", syscall(SYS_getcwd, buf, 1), ERANGE);
    fails("readlink of a file: EINVAL", readlink("/tmp/file", buf, sizeof buf), EINVAL);
    fails("readlink of nothing: ENOENT", readlink("/tmp/none", buf, sizeof buf), ENOENT);
    fails("chdir to a file: ENOTDIR", chdir("/tmp/file"), ENOTDIR);
    fails("unknown device: ENOENT", open("#nosuchdevice/x", O_RDONLY), ENOENT);
    fails("empty path: ENOENT", open("", O_RDONLY), ENOENT);
    fails("lseek before the start: EINVAL", lseek(open("/tmp/file", O_RDONLY), -5, SEEK_SET), EINVAL);
}

static void io(void)
{
    char buf[64];
    int fd = works("create", open("/tmp/io", O_RDWR | O_CREAT | O_TRUNC, 0600));
    equal("write", write(fd, "hello world", 11), 11);
    equal("lseek to 6", lseek(fd, 6, SEEK_SET), 6);
    memset(buf, 0, sizeof buf);
    equal("read from 6", read(fd, buf, sizeof buf), 5);
    same("read text", buf, "world");
    equal("read at the end", read(fd, buf, sizeof buf), 0);
    equal("pwrite", pwrite(fd, "HELLO", 5, 0), 5);
    equal("pwrite kept the offset", lseek(fd, 0, SEEK_CUR), 11);
    memset(buf, 0, sizeof buf);
    equal("pread", pread(fd, buf, 5, 0), 5);
    same("pread text", buf, "HELLO");
    equal("lseek past the end", lseek(fd, 20, SEEK_SET), 20);
    equal("write past the end", write(fd, "!", 1), 1);
    struct stat st;
    works("fstat", fstat(fd, &st));
    equal("size after a hole", st.st_size, 21);
    check("a regular file", S_ISREG(st.st_mode), "not S_IFREG");
    equal("permissions from the mode", st.st_mode & 0777, 0600);
    equal("umask returns the mask it replaces", umask(027), 022);
    int masked = works("create under umask 027", open("/tmp/masked", O_WRONLY | O_CREAT | O_EXCL, 0666));
    fstat(masked, &st);
    equal("the umask clears bits of a new file's mode", st.st_mode & 0777, 0640);
    close(masked);
    works("mkdir under umask 027", mkdir("/tmp/maskdir", 0777));
    stat("/tmp/maskdir", &st);
    equal("and of a new directory's", st.st_mode & 0777, 0750);
    equal("umask 0 returns 027", umask(0), 027);
    masked = works("create under umask 0", open("/tmp/unmasked", O_WRONLY | O_CREAT | O_EXCL, 0666));
    fstat(masked, &st);
    equal("umask 0 keeps the mode", st.st_mode & 0777, 0666);
    close(masked);
    umask(022);
    unlink("/tmp/masked");
    unlink("/tmp/unmasked");
    rmdir("/tmp/maskdir");
    equal("SEEK_END", lseek(fd, -1, SEEK_END), 20);
    works("ftruncate", ftruncate(fd, 5));
    works("stat", stat("/tmp/io", &st));
    equal("size after ftruncate", st.st_size, 5);
    close(fd);
    put("/tmp/io", "0123456789");
    fd = works("O_APPEND open", open("/tmp/io", O_WRONLY | O_APPEND));
    lseek(fd, 0, SEEK_SET);
    write(fd, "ab", 2);
    close(fd);
    same("O_APPEND writes at the end", get("/tmp/io"), "0123456789ab");
    fd = works("O_TRUNC open", open("/tmp/io", O_WRONLY | O_TRUNC));
    write(fd, "new", 3);
    close(fd);
    same("O_TRUNC empties the file", get("/tmp/io"), "new");
    works("truncate", truncate("/tmp/io", 1));
    same("truncate by name", get("/tmp/io"), "n");
    unsigned long long sx[32]; /* struct statx: stx_size is the sixth 64-bit word */
    works("statx", syscall(SYS_statx, AT_FDCWD, "/tmp/io", 0, 0x7ff, sx));
    equal("statx size", (long)sx[5], 1);
    works("stat a directory", stat("/tmp", &st));
    check("a directory", S_ISDIR(st.st_mode), "not S_IFDIR");
    works("stat the console", stat("/dev/cons", &st));
    check("the console is a character device", S_ISCHR(st.st_mode), "not S_IFCHR");
    fd = open("/dev/zero", O_RDONLY);
    memset(buf, 1, sizeof buf);
    equal("read /dev/zero", read(fd, buf, 16), 16);
    check("zeroes", buf[0] == 0 && buf[15] == 0, "not zero");
    close(fd);
    fd = open("/dev/null", O_RDWR);
    equal("write /dev/null", write(fd, "gone", 4), 4);
    equal("read /dev/null", read(fd, buf, 4), 0);
    close(fd);
    unsigned char r1[8], r2[8];
    fd = open("/dev/random", O_RDONLY);
    equal("read /dev/random", read(fd, r1, 8), 8);
    equal("read /dev/random again", read(fd, r2, 8), 8);
    check("random reads differ", memcmp(r1, r2, 8) != 0, "two reads gave the same bytes");
    close(fd);
    same("read /dev/version", get("/dev/version"), "kernkit 0.1.0\n");
    works("access R_OK", access("/bin/hello", R_OK | X_OK));
    works("access W_OK in tmpfs", access("/tmp/io", W_OK));
}

static int names(const char *path, char *out, size_t size)
{
    DIR *dir = opendir(path);
    if (!dir)
        return -1;
    char *list[64];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && count < 64)
        list[count++] = strdup(entry->d_name);
    closedir(dir);
    for (int i = 0; i < count; i++)
        for (int j = i + 1; j < count; j++)
            if (strcmp(list[i], list[j]) > 0) {
                char *t = list[i];
                list[i] = list[j];
                list[j] = t;
            }
    out[0] = '\0';
    for (int i = 0; i < count; i++) {
        if (i)
            strncat(out, " ", size - strlen(out) - 1);
        strncat(out, list[i], size - strlen(out) - 1);
        free(list[i]);
    }
    return count;
}

static void dirs(void)
{
    char buf[512];
    works("mkdir", mkdir("/tmp/d", 0755));
    works("mkdir inside", mkdir("/tmp/d/sub", 0700));
    put("/tmp/d/a", "A");
    put("/tmp/d/b", "B");
    names("/tmp/d", buf, sizeof buf);
    same("getdents lists the entries", buf, ". .. a b sub");
    works("rename within a directory", rename("/tmp/d/a", "/tmp/d/c"));
    works("rename into another directory", rename("/tmp/d/b", "/tmp/d/sub/b"));
    works("rename over an existing file", rename("/tmp/d/c", "/tmp/d/sub/b"));
    same("the replaced file holds the new data", get("/tmp/d/sub/b"), "A");
    fails("RENAME_NOREPLACE refuses", syscall(SYS_renameat2, AT_FDCWD, "/tmp/d/sub/b", AT_FDCWD, "/tmp/d/sub/b", 1), EEXIST);
    fails("a directory into itself: EINVAL", rename("/tmp/d", "/tmp/d/sub/d"), EINVAL);
    names("/tmp/d", buf, sizeof buf);
    same("after renames", buf, ". .. sub");
    works("chdir", chdir("/tmp/d"));
    same("getcwd", getcwd(buf, sizeof buf), "/tmp/d");
    same("a relative open", get("sub/b"), "A");
    works("chdir ..", chdir(".."));
    same("getcwd after ..", getcwd(buf, sizeof buf), "/tmp");
    works("chdir far above /", chdir("../../../../.."));
    same(".. stops at /", getcwd(buf, sizeof buf), "/");
    same("/.. is /", get("/../../tmp/d/sub/b"), "A");
    works("chdir into a device", chdir("#tmpfs/d"));
    /* the raw call: libc's getcwd refuses a path that does not start with '/' */
    equal("getcwd in a device", syscall(SYS_getcwd, buf, sizeof buf), 9);
    same("its path", buf, "#tmpfs/d");
    same("the device holds /tmp's files", get("sub/b"), "A");
    works("chdir .. many times", chdir("../../../.."));
    syscall(SYS_getcwd, buf, sizeof buf);
    same(".. stops at the device's root", buf, "#tmpfs");
    fails("#tmpfs/.. is not /bin", open("#tmpfs/../bin/hello", O_RDONLY), ENOENT);
    chdir("/");
    int dfd = works("open a directory", open("/tmp/d", O_RDONLY | O_DIRECTORY));
    same("openat with a directory fd", get("/tmp/d/sub/b"), "A");
    int fd = works("openat relative", openat(dfd, "sub/b", O_RDONLY));
    close(fd);
    works("mkdirat", mkdirat(dfd, "made", 0755));
    works("fchdir", fchdir(dfd));
    same("getcwd after fchdir", getcwd(buf, sizeof buf), "/tmp/d");
    chdir("/");
    fails("unlinkat a directory without AT_REMOVEDIR", unlinkat(dfd, "made", 0), EISDIR);
    works("unlinkat AT_REMOVEDIR", unlinkat(dfd, "made", AT_REMOVEDIR));
    works("unlinkat a file", unlinkat(dfd, "sub/b", 0));
    works("rmdir", rmdir("/tmp/d/sub"));
    close(dfd);
    works("rmdir the top", rmdir("/tmp/d"));
    fails("gone", access("/tmp/d", F_OK), ENOENT);
    int n = names("/", buf, sizeof buf);
    same("/ lists the mount points", buf, ". .. bin dev net proc srv tmp");
    (void)n;
    fd = open("/tmp/kept", O_RDWR | O_CREAT, 0644);
    write(fd, "still here", 10);
    unlink("/tmp/kept");
    char text[16] = {0};
    equal("an unlinked open file stays readable", pread(fd, text, 10, 0), 10);
    same("its contents", text, "still here");
    close(fd);
}

static void fdcheck(int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        int fd = atoi(argv[i]);
        printf("fd %d %s\n", fd, fcntl(fd, F_GETFD) >= 0 ? "open" : "closed");
    }
}

static void fds(void)
{
    char buf[16] = {0};
    put("/tmp/fds", "abcdef");
    int fd = open("/tmp/fds", O_RDONLY);
    int copy = works("dup", dup(fd));
    read(fd, buf, 2);
    read(copy, buf, 2);
    same("dup shares the offset", buf, "cd");
    equal("dup2 to a chosen number", dup2(fd, 10), 10);
    equal("dup2 onto itself", dup2(fd, fd), fd);
    fails("dup3 onto itself: EINVAL", dup3(fd, fd, 0), EINVAL);
    equal("dup3 with O_CLOEXEC", dup3(fd, 11, O_CLOEXEC), 11);
    equal("F_GETFD of dup3 O_CLOEXEC", fcntl(11, F_GETFD), FD_CLOEXEC);
    equal("F_GETFD of dup2", fcntl(10, F_GETFD), 0);
    equal("F_DUPFD from 20", fcntl(fd, F_DUPFD, 20), 20);
    equal("F_DUPFD_CLOEXEC from 20", fcntl(fd, F_DUPFD_CLOEXEC, 20), 21);
    equal("its FD_CLOEXEC", fcntl(21, F_GETFD), FD_CLOEXEC);
    works("F_SETFD", fcntl(10, F_SETFD, FD_CLOEXEC));
    equal("F_GETFD after F_SETFD", fcntl(10, F_GETFD), FD_CLOEXEC);
    equal("F_GETFL", fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
    int w = open("/tmp/fds", O_WRONLY);
    works("F_SETFL O_APPEND", fcntl(w, F_SETFL, O_APPEND));
    check("F_GETFL shows O_APPEND", fcntl(w, F_GETFL) & O_APPEND, "no O_APPEND");
    write(w, "!", 1);
    close(w);
    same("the write went to the end", get("/tmp/fds"), "abcdef!");
    fails("fcntl on a closed fd: EBADF", fcntl(99, F_GETFD), EBADF);
    /* close-on-exec: 10, 11 and 21 are marked, 12 is not */
    dup2(fd, 12);
    pid_t child = fork();
    if (child == 0) {
        execl("/bin/fstest", "fstest", "fdcheck", "10", "11", "12", "21", (char *)NULL);
        _exit(99);
    }
    int status;
    waitpid(child, &status, 0);
    equal("exec'd child exited", WEXITSTATUS(status), 0);
    int o = open("/tmp/o", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    equal("O_CLOEXEC sets FD_CLOEXEC", fcntl(o, F_GETFD), FD_CLOEXEC);
    /* close_range: marks a range close-on-exec, or closes it to the end of the table */
    dup2(fd, 30), dup2(fd, 31), dup2(fd, 32);
    equal("close_range CLOEXEC", syscall(SYS_close_range, 30, 31, CLOSE_RANGE_CLOEXEC), 0);
    equal("close_range marked 31", fcntl(31, F_GETFD), FD_CLOEXEC);
    equal("close_range left 32", fcntl(32, F_GETFD), 0);
    equal("close_range to ~0", syscall(SYS_close_range, 30, ~0U, 0), 0);
    fails("close_range closed 32", fcntl(32, F_GETFD), EBADF);
    equal("close_range left what is below", fcntl(fd, F_GETFD), 0);
    fails("close_range first > last: EINVAL", syscall(SYS_close_range, 5, 4, 0), EINVAL);
    fails("close_range unknown flag: EINVAL", syscall(SYS_close_range, 40, 41, 1), EINVAL);
}

static void pipes(void)
{
    int fds[2];
    works("pipe2", pipe2(fds, 0));
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        char chunk[1000];
        memset(chunk, 'p', sizeof chunk);
        for (int i = 0; i < 200; i++) /* 200 KB: more than the pipe holds, so the writer waits */
            if (write(fds[1], chunk, sizeof chunk) != (ssize_t)sizeof chunk)
                _exit(1);
        _exit(0);
    }
    close(fds[1]);
    long total = 0;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0)
        total += n;
    equal("everything written arrives, then end of file", total, 200000);
    int status;
    waitpid(child, &status, 0);
    equal("the writer exited normally", WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
    close(fds[0]);

    pipe(fds);
    close(fds[0]);
    child = fork();
    if (child == 0) {
        write(fds[1], "x", 1); /* no reader: SIGPIPE */
        _exit(0);
    }
    waitpid(child, &status, 0);
    check("a write with no reader: SIGPIPE", WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE, "not SIGPIPE");
    close(fds[1]);

    pipe2(fds, O_NONBLOCK);
    fails("O_NONBLOCK read of an empty pipe: EAGAIN", read(fds[0], buf, 1), EAGAIN);
    write(fds[1], "hi", 2);
    equal("then data", read(fds[0], buf, sizeof buf), 2);
    close(fds[0]);
    close(fds[1]);
}

static void forks(void)
{
    put("/tmp/shared", "0123456789");
    int fd = open("/tmp/shared", O_RDONLY);
    char buf[8] = {0};
    read(fd, buf, 2);
    pid_t child = fork();
    if (child == 0) {
        read(fd, buf, 3); /* advances the offset the parent sees too */
        _exit(strcmp(buf, "234") == 0 ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    equal("the child read from the parent's offset", WEXITSTATUS(status), 0);
    memset(buf, 0, sizeof buf);
    read(fd, buf, 2);
    same("the parent goes on after the child's read", buf, "56");
    close(fd);
    child = fork();
    if (child == 0) {
        chdir("/tmp");
        _exit(0);
    }
    waitpid(child, &status, 0);
    char cwd[64];
    same("a child's chdir is its own", getcwd(cwd, sizeof cwd), "/");
}

static int bindf(const char *new, const char *old, const char *flags)
{
    return mount(new, old, NULL, MS_BIND, flags);
}

static void ns(void)
{
    char buf[256];
    mkdir("/tmp/x", 0755);
    mkdir("/tmp/y", 0755);
    mkdir("/tmp/u", 0755);
    put("/tmp/x/a", "x's a");
    put("/tmp/x/only_x", "x");
    put("/tmp/y/a", "y's a");
    put("/tmp/y/only_y", "y");
    put("/tmp/u/mine", "u");
    works("bind -a", bindf("/tmp/x", "/tmp/u", "-a"));
    names("/tmp/u", buf, sizeof buf);
    same("a union after: both members listed", buf, ". .. a mine only_x");
    works("bind -b", bindf("/tmp/y", "/tmp/u", "-b"));
    same("before comes first", get("/tmp/u/a"), "y's a");
    names("/tmp/u", buf, sizeof buf);
    same("each name once, all members", buf, ". .. a mine only_x only_y");
    fails("no -c member: creating fails", open("/tmp/u/new", O_WRONLY | O_CREAT, 0644), EACCES);
    works("unmount", umount2("/tmp/u", 0));
    names("/tmp/u", buf, sizeof buf);
    same("unmounted", buf, ". .. mine");
    works("bind -ac", bindf("/tmp/x", "/tmp/u", "-ac"));
    put("/tmp/u/created", "c");
    same("created in the -c member", get("/tmp/x/created"), "c");
    works("bind (replace)", bindf("/tmp/y", "/tmp/u", ""));
    names("/tmp/u", buf, sizeof buf);
    same("replaced", buf, ". .. a only_y");
    works("bind a file on a file", bindf("/tmp/x/a", "/tmp/y/a", ""));
    same("the file shows through", get("/tmp/y/a"), "x's a");
    fails("bind a directory on a file", bindf("/tmp/x", "/tmp/y/only_y", ""), ENOTDIR);
    works("bind a device", bindf("#tmpfs.other", "/tmp/x", ""));
    names("/tmp/x", buf, sizeof buf);
    same("a fresh tmpfs instance", buf, ". ..");
    umount2("/tmp/x", 0);

    /* forked children share the namespace: their binds show in the parent */
    pid_t child = fork();
    if (child == 0)
        _exit(bindf("/tmp/x", "/tmp/u", "") < 0);
    int status;
    waitpid(child, &status, 0);
    same("a child's bind shows in the parent (shared)", get("/tmp/u/only_x"), "x");
    /* ... unless the child unshares it */
    child = fork();
    if (child == 0) {
        if (unshare(CLONE_NEWNS) < 0)
            _exit(2);
        if (bindf("/tmp/y", "/tmp/u", "") < 0)
            _exit(3);
        _exit(strcmp(get("/tmp/u/only_y"), "y") == 0 ? 0 : 4);
    }
    waitpid(child, &status, 0);
    equal("the unshared child sees its own bind", WEXITSTATUS(status), 0);
    same("the parent does not", get("/tmp/u/only_x"), "x");
    /* clone(CLONE_NEWNS) gives the child a copy from the start */
    child = (pid_t)syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
    if (child == 0)
        _exit(bindf("/tmp/y", "/tmp/u", "") < 0 ? 2 : strcmp(get("/tmp/u/only_y"), "y") == 0 ? 0 : 3);
    waitpid(child, &status, 0);
    equal("a clone(CLONE_NEWNS) child binds in its own copy", WEXITSTATUS(status), 0);
    same("which the parent does not see", get("/tmp/u/only_x"), "x");
    /* ns clean through /proc: only #root at / */
    child = fork();
    if (child == 0) {
        int ctl = open("/proc/self/ctl", O_WRONLY);
        if (write(ctl, "ns clean", 8) != 8)
            _exit(2);
        _exit(access("/tmp/u", F_OK) == 0 ? 3 : access("#tmpfs/u/mine", F_OK) == 0 ? 0 : 4);
    }
    waitpid(child, &status, 0);
    equal("ns clean leaves only #root at /, #devices still reachable", WEXITSTATUS(status), 0);
    same("and the parent keeps its namespace", get("/tmp/u/only_x"), "x");
}

static void srv(void)
{
    int fds[2];
    pipe(fds);
    int post = works("create in /srv", open("/srv/chat", O_WRONLY | O_CREAT | O_EXCL, 0600));
    char number[16];
    snprintf(number, sizeof number, "%d", fds[1]);
    equal("post the pipe's write end", write(post, number, strlen(number)), (long)strlen(number));
    close(post);
    close(fds[1]);
    pid_t child = fork();
    if (child == 0) {
        int fd = open("/srv/chat", O_WRONLY);
        if (fd < 0)
            _exit(1);
        write(fd, "via srv", 7);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    char buf[16] = {0};
    equal("read what the other process wrote", read(fds[0], buf, sizeof buf - 1), 7);
    same("its bytes", buf, "via srv");
    works("remove the post", unlink("/srv/chat"));
    equal("then end of file", read(fds[0], buf, sizeof buf), 0);
}

static void post(void)
{
    int fds[2];
    pipe(fds);
    write(fds[1], "posted\n", 7);
    int fd = works("create /srv/box", open("/srv/box", O_WRONLY | O_CREAT, 0600));
    char number[16];
    snprintf(number, sizeof number, "%d", fds[0]);
    equal("post", write(fd, number, strlen(number)), (long)strlen(number));
}

static void proc(void)
{
    char path[64], want[64];
    const char *status = get("#proc/self/status");
    snprintf(want, sizeof want, "pid %d\n", getpid());
    check("#proc/self/status starts with the pid", strncmp(status, want, strlen(want)) == 0, status);
    snprintf(want, sizeof want, "\nPid:\t%d\n", getpid());
    check("/proc/self/status is Linux's", strstr(get("/proc/self/status"), want) != NULL, want);
    pid_t child = fork();
    if (child == 0) {
        for (;;)
            sched_yield();
    }
    snprintf(path, sizeof path, "/proc/%d/ctl", child);
    int ctl = works("open a child's ctl", open(path, O_WRONLY));
    equal("write kill", write(ctl, "kill", 4), 4);
    fails("a bad control message: EINVAL", write(ctl, "fly", 3), EINVAL);
    close(ctl);
    int st;
    waitpid(child, &st, 0);
    check("killed through ctl", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "not SIGKILL");
    snprintf(path, sizeof path, "/proc/%d", child);
    fails("a reaped process has no directory", access(path, F_OK), ENOENT);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode);
    char buf[8192];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        write(out, buf, (size_t)n);
    close(in);
    close(out);
}

static void exec_checks(void)
{
    copy_file("/bin/exitcode", "/tmp/exitcode", 0755);
    pid_t child = fork();
    if (child == 0) {
        execl("/tmp/exitcode", "exitcode", "42", (char *)NULL);
        _exit(99);
    }
    int status;
    waitpid(child, &status, 0);
    equal("a program copied into #tmpfs runs", WEXITSTATUS(status), 42);
    copy_file("/bin/exitcode", "/tmp/noexec", 0644);
    fails("no execute permission: EACCES", execl("/tmp/noexec", "noexec", (char *)NULL), EACCES);
    fails("a directory: EACCES", execl("/tmp", "tmp", (char *)NULL), EACCES);
    fails("nothing there: ENOENT", execl("/tmp/none", "none", (char *)NULL), ENOENT);
    put("/tmp/text", "not a program");
    chmod("/tmp/text", 0755);
    fails("not a program: ENOEXEC", execl("/tmp/text", "text", (char *)NULL), ENOEXEC);
}

int main(int argc, char **argv)
{
    self_path = argv[0];
    if (argc < 2) {
        fprintf(stderr, "usage: fstest errors|io|dirs|fds|pipe|fork|ns|srv|proc ...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *group = argv[i];
        if (!strcmp(group, "errors"))
            errors();
        else if (!strcmp(group, "io"))
            io();
        else if (!strcmp(group, "dirs"))
            dirs();
        else if (!strcmp(group, "fds"))
            fds();
        else if (!strcmp(group, "fdcheck")) {
            fdcheck(argc, argv);
            return 0;
        } else if (!strcmp(group, "pipe"))
            pipes();
        else if (!strcmp(group, "fork"))
            forks();
        else if (!strcmp(group, "ns"))
            ns();
        else if (!strcmp(group, "srv"))
            srv();
        else if (!strcmp(group, "proc"))
            proc();
        else if (!strcmp(group, "exec"))
            exec_checks();
        else if (!strcmp(group, "post"))
            post();
        else {
            fprintf(stderr, "fstest: unknown group %s\n", group);
            return 2;
        }
    }
    return failures;
}
