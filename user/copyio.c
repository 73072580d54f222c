/* copyio: checks of the calls that move bytes between descriptors inside the kernel, one group
 * per argument, with files in /tmp.
 *   splice   file to pipe and pipe to file, with and without offsets; errors (EINVAL, ESPIPE,
 *            EBADF, EAGAIN with SPLICE_F_NONBLOCK); a full pipe; pipe to pipe
 *   copy     copy_file_range with and without offsets, at end of file, errors (EINVAL, EBADF,
 *            EISDIR)
 *   sendfile from a file to a pipe and to a file, with an offset, at end of file
 * Each check prints "ok NAME" or "FAIL NAME: ..."; the exit status is the number of failures.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checks.h"

static const char *path_a = "/tmp/copyio-a", *path_b = "/tmp/copyio-b", *path_dir = "/tmp";

static int make(const char *path, const char *text)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0 && text && write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        printf("FAIL write %s: %s\n", path, strerror(errno));
    return fd;
}

static const char *contents(int fd)
{
    static char buf[256];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n < 0 ? 0 : n] = 0;
    return buf;
}

static const char *drain(int fd, size_t size)
{
    static char buf[256];
    ssize_t n = read(fd, buf, size < sizeof buf ? size : sizeof buf - 1);
    buf[n < 0 ? 0 : n] = 0;
    return buf;
}

static void splices(void)
{
    int p[2], q[2];
    int in = make(path_a, "0123456789");
    pipe(p);
    lseek(in, 2, SEEK_SET);
    equal("file to pipe at the file's offset", splice(in, NULL, p[1], NULL, 5, 0), 5);
    same("the pipe holds the bytes", drain(p[0], 5), "23456");
    equal("the file's offset moved", lseek(in, 0, SEEK_CUR), 7);
    loff_t off = 1;
    equal("file to pipe at an offset", splice(in, &off, p[1], NULL, 3, 0), 3);
    equal("the offset given moved", off, 4);
    equal("the file's own offset did not", lseek(in, 0, SEEK_CUR), 7);
    same("the pipe holds those", drain(p[0], 3), "123");
    equal("the rest of the file", splice(in, NULL, p[1], NULL, 5, 0), 3);
    equal("at end of file: 0", splice(in, NULL, p[1], NULL, 5, 0), 0);
    drain(p[0], 3);

    int out = make(path_b, "abcdefgh");
    write(p[1], "XYZ", 3);
    off = 2;
    equal("pipe to file at an offset", splice(p[0], NULL, out, &off, 10, 0), 3);
    equal("its offset moved", off, 5);
    same("the file has the bytes there", contents(out), "abXYZfgh");
    write(p[1], "uv", 2);
    lseek(out, 0, SEEK_SET);
    equal("pipe to file at the file's offset", splice(p[0], NULL, out, NULL, 10, 0), 2);
    same("written at offset 0", contents(out), "uvXYZfgh");
    equal("and the offset moved", lseek(out, 0, SEEK_CUR), 2);

    off = 0;
    fails("an offset for the pipe: ESPIPE", splice(p[0], &off, out, NULL, 1, 0), ESPIPE);
    fails("no pipe at either end: EINVAL", splice(in, NULL, out, NULL, 1, 0), EINVAL);
    fails("a closed descriptor: EBADF", splice(99, NULL, p[1], NULL, 1, 0), EBADF);
    fails("the pipe's write end as input: EBADF", splice(p[1], NULL, out, NULL, 1, 0), EBADF);
    fails("empty pipe, SPLICE_F_NONBLOCK: EAGAIN", splice(p[0], NULL, out, NULL, 1, SPLICE_F_NONBLOCK), EAGAIN);
    fails("both ends of one pipe: EINVAL", splice(p[0], NULL, p[1], NULL, 1, 0), EINVAL);
    off = -1;
    fails("a negative offset: EINVAL", splice(in, &off, p[1], NULL, 1, 0), EINVAL);
    fails("unknown flags: EINVAL", splice(in, NULL, p[1], NULL, 1, 0x100), EINVAL);
    equal("a length of 0: 0", splice(in, NULL, p[1], NULL, 0, 0), 0);
    int app = open(path_b, O_WRONLY | O_APPEND);
    write(p[1], "q", 1);
    fails("to an O_APPEND file: EINVAL", splice(p[0], NULL, app, NULL, 1, 0), EINVAL);
    close(app);
    drain(p[0], 1);

    pipe(q);
    write(p[1], "pipe to pipe", 12);
    equal("pipe to pipe", splice(p[0], NULL, q[1], NULL, 100, 0), 12);
    same("the other pipe has it", drain(q[0], 100), "pipe to pipe");

    /* fill the pipe: a non-blocking splice into it is EAGAIN and takes nothing from the file */
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    char block[4096] = {0};
    while (write(p[1], block, sizeof block) > 0)
        ;
    lseek(in, 0, SEEK_SET);
    fails("into a full pipe, SPLICE_F_NONBLOCK: EAGAIN", splice(in, NULL, p[1], NULL, 4, SPLICE_F_NONBLOCK), EAGAIN);
    equal("the file's offset stays", lseek(in, 0, SEEK_CUR), 0);

    /* a child empties it later: a blocking splice waits, then moves the bytes */
    fcntl(p[1], F_SETFL, 0);
    pid_t child = fork();
    if (child == 0) {
        usleep(20000);
        char sink[4096];
        for (int i = 0; i < 16; i++)
            read(p[0], sink, sizeof sink);
        _exit(0);
    }
    equal("into a full pipe: waits for room", splice(in, NULL, p[1], NULL, 4, 0), 4);
    waitpid(child, NULL, 0);
    close(p[0]);
    fails("to a pipe without a reader: EPIPE", splice(in, NULL, p[1], NULL, 4, 0), EPIPE);
    close(p[1]);
    close(q[0]);
    close(q[1]);
    close(in);
    close(out);
}

static void copies(void)
{
    int in = make(path_a, "0123456789");
    int out = make(path_b, "");
    lseek(in, 3, SEEK_SET);
    equal("copy at both offsets", copy_file_range(in, NULL, out, NULL, 4, 0), 4);
    same("the bytes", contents(out), "3456");
    equal("the input's offset moved", lseek(in, 0, SEEK_CUR), 7);
    equal("the output's offset moved", lseek(out, 0, SEEK_CUR), 4);
    loff_t at = 0, to = 10;
    equal("copy at given offsets", copy_file_range(in, &at, out, &to, 3, 0), 3);
    equal("the input offset given moved", at, 3);
    equal("the output offset given moved", to, 13);
    equal("the input's own stayed", lseek(in, 0, SEEK_CUR), 7);
    struct stat st;
    fstat(out, &st);
    equal("a hole before the copy", st.st_size, 13);
    at = 8;
    equal("short at end of file", copy_file_range(in, &at, out, NULL, 10, 0), 2);
    equal("0 past it", copy_file_range(in, &at, out, NULL, 10, 0), 0);
    fails("flags: EINVAL", copy_file_range(in, NULL, out, NULL, 1, 1), EINVAL);
    fails("a closed descriptor: EBADF", copy_file_range(99, NULL, out, NULL, 1, 0), EBADF);
    int ro = open(path_b, O_RDONLY);
    fails("to a read-only descriptor: EBADF", copy_file_range(in, NULL, ro, NULL, 1, 0), EBADF);
    close(ro);
    int app = open(path_b, O_WRONLY | O_APPEND);
    fails("to an O_APPEND descriptor: EBADF", copy_file_range(in, NULL, app, NULL, 1, 0), EBADF);
    close(app);
    at = 0, to = 2;
    fails("overlapping ranges of one file: EINVAL", copy_file_range(in, &at, in, &to, 4, 0), EINVAL);
    to = 6;
    equal("ranges of one file apart", copy_file_range(in, &at, in, &to, 4, 0), 4);
    same("copied within it", contents(in), "0123450123");
    int dir = open(path_dir, O_RDONLY | O_DIRECTORY);
    fails("from a directory: EISDIR", copy_file_range(dir, NULL, out, NULL, 1, 0), EISDIR);
    close(dir);
    int p[2];
    pipe(p);
    fails("to a pipe: EINVAL", copy_file_range(in, NULL, p[1], NULL, 1, 0), EINVAL);
    close(p[0]);
    close(p[1]);
    close(in);
    close(out);
}

static void sendfiles(void)
{
    int in = make(path_a, "hello, sendfile");
    int p[2];
    pipe(p);
    lseek(in, 0, SEEK_SET);
    equal("file to pipe", sendfile(p[1], in, NULL, 5), 5);
    same("the pipe has it", drain(p[0], 5), "hello");
    equal("the file's offset moved", lseek(in, 0, SEEK_CUR), 5);
    off_t off = 7;
    int out = make(path_b, "");
    equal("file to file at an offset", sendfile(out, in, &off, 100), 8);
    equal("the offset given moved", off, 15);
    same("the file has it", contents(out), "sendfile");
    equal("at end of file: 0", sendfile(out, in, &off, 100), 0);
    fails("from a pipe: EINVAL", sendfile(out, p[0], NULL, 1), EINVAL);
    close(p[0]);
    close(p[1]);
    close(in);
    close(out);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "splice"))
            splices();
        else if (!strcmp(argv[i], "copy"))
            copies();
        else if (!strcmp(argv[i], "sendfile"))
            sendfiles();
        else {
            fprintf(stderr, "copyio: unknown group %s\n", argv[i]);
            return 2;
        }
    }
    return failures;
}
