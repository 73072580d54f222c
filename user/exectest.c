/* exectest: what a program observes of execve: its auxiliary vector, #! scripts, and ELF
 * files with interpreters, good and bad.
 *
 *   exectest aux                  the auxiliary vector, as facts that hold anywhere
 *   exectest secure               AT_SECURE of a program started with real uid != effective
 *   exectest scripts DIR SELF     #! scripts made in DIR, run by SELF (this program's path)
 *   exectest elf DIR SELF         ELF files with PT_INTERP (good and bad) made in DIR
 *   exectest try FILE...          what execve of each file does
 *
 * Every line is one fact, with DIR and SELF written as such, so the output of a run under
 * kernkit can be compared line by line with a run on Linux. A program started with
 * EXECTEST_SHOW=1 in its environment prints its arguments and AT_EXECFN and exits: it is the
 * interpreter the scripts name.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern const ElfW(Ehdr) __ehdr_start;
extern char _start[];

static const char *dir = "", *self = "";
static char *show_env[] = {"EXECTEST_SHOW=1", NULL};

/* a path with DIR and SELF written as such */
static void put_path(const char *s)
{
    size_t d = strlen(dir), n = strlen(self);
    if (n && strncmp(s, self, n) == 0 && (s[n] == 0 || s[n] == '/'))
        printf("SELF%s", s + n);
    else if (d && strncmp(s, dir, d) == 0 && s[d] == '/')
        printf("DIR%s", s + d);
    else
        printf("%s", s);
}

static int show(int argc, char **argv)
{
    dir = getenv("EXECTEST_DIR") ? getenv("EXECTEST_DIR") : "";
    self = getenv("EXECTEST_SELF") ? getenv("EXECTEST_SELF") : "";
    printf("  argc %d:", argc);
    for (int i = 0; i < argc; i++) {
        printf(" [");
        put_path(argv[i]);
        printf("]");
    }
    printf(" execfn [");
    put_path((const char *)getauxval(AT_EXECFN));
    printf("]\n");
    return 0;
}

static const char *errname(int e)
{
    switch (e) {
    case ENOENT: return "ENOENT";
    case ENOEXEC: return "ENOEXEC";
    case EACCES: return "EACCES";
    case EIO: return "EIO";
    case ELOOP: return "ELOOP";
    case ELIBBAD: return "ELIBBAD";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case E2BIG: return "E2BIG";
    case ENOTDIR: return "ENOTDIR";
    default: return "other";
    }
}

/* run `path` with `args` in a child and say what happened */
static void run(const char *what, const char *path, char **args)
{
    char dirvar[600], selfvar[600];
    snprintf(dirvar, sizeof dirvar, "EXECTEST_DIR=%s", dir);
    snprintf(selfvar, sizeof selfvar, "EXECTEST_SELF=%s", self);
    char *env[] = {show_env[0], dirvar, selfvar, NULL};
    printf("%s:\n", what);
    fflush(stdout);
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        fcntl(pipefd[1], F_SETFD, FD_CLOEXEC);
        execve(path, args, env);
        int e = errno;
        (void)!write(pipefd[1], &e, sizeof e);
        _exit(127);
    }
    close(pipefd[1]);
    int e = 0, status = 0;
    ssize_t got = read(pipefd[0], &e, sizeof e);
    close(pipefd[0]);
    waitpid(pid, &status, 0);
    if (got == sizeof e)
        printf("  execve: %s\n", errname(e));
    else if (WIFSIGNALED(status))
        printf("  killed by signal %d\n", WTERMSIG(status));
    else
        printf("  exit %d\n", WEXITSTATUS(status));
    fflush(stdout);
}

static void make(const char *name, const void *data, size_t len, mode_t mode, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", dir, name);
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
        printf("cannot make %s: %s\n", name, strerror(errno));
        exit(2);
    }
    close(fd);
    chmod(path, mode);
}

static void script(const char *what, const char *name, const char *text, size_t len, mode_t mode)
{
    char path[600];
    make(name, text, len ? len : strlen(text), mode, path, sizeof path);
    char *args[] = {(char *)name, "a", "b c", NULL};
    run(what, path, args);
}

/* --- the auxiliary vector --------------------------------------------------------------------- */

static const char *interpreter_of(const ElfW(Ehdr) *ehdr)
{
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)((const char *)ehdr + ehdr->e_phoff);
    for (int i = 0; i < ehdr->e_phnum; i++)
        if (ph[i].p_type == PT_INTERP)
            return (const char *)ehdr + ph[i].p_offset;
    return NULL;
}

static int found_base;

static int each_object(struct dl_phdr_info *info, size_t size, void *base)
{
    (void)size;
    if (info->dlpi_addr == (ElfW(Addr))base && info->dlpi_name && info->dlpi_name[0])
        found_base = 1;
    return 0;
}

static int aux(void)
{
    const ElfW(Ehdr) *ehdr = &__ehdr_start;
    printf("AT_PAGESZ %lu\n", getauxval(AT_PAGESZ));
    printf("AT_PHDR is the program's headers: %s\n",
           getauxval(AT_PHDR) == (uintptr_t)ehdr + ehdr->e_phoff ? "yes" : "no");
    printf("AT_PHENT %lu, AT_PHNUM is e_phnum: %s\n", getauxval(AT_PHENT),
           getauxval(AT_PHNUM) == ehdr->e_phnum ? "yes" : "no");
    printf("AT_ENTRY is _start: %s\n", getauxval(AT_ENTRY) == (uintptr_t)_start ? "yes" : "no");
    const char *interp = interpreter_of(ehdr);
    unsigned long base = getauxval(AT_BASE);
    if (!interp)
        printf("no interpreter, AT_BASE %lu\n", base);
    else {
        const ElfW(Ehdr) *ld = (const ElfW(Ehdr) *)base;
        printf("interpreter %s\n", interp);
        printf("AT_BASE page aligned: %s\n", base && base % 4096 == 0 ? "yes" : "no");
        printf("AT_BASE holds an ELF shared object: %s\n",
               memcmp(ld->e_ident, ELFMAG, SELFMAG) == 0 && ld->e_type == ET_DYN ? "yes" : "no");
        dl_iterate_phdr(each_object, (void *)base);
        printf("the dynamic linker's list has an object at AT_BASE: %s\n", found_base ? "yes" : "no");
    }
    printf("AT_UID, AT_EUID, AT_GID, AT_EGID are the ids: %s\n",
           getauxval(AT_UID) == getuid() && getauxval(AT_EUID) == geteuid() &&
                   getauxval(AT_GID) == getgid() && getauxval(AT_EGID) == getegid()
               ? "yes"
               : "no");
    printf("AT_SECURE %lu\n", getauxval(AT_SECURE));
    printf("AT_PLATFORM %s\n", (const char *)getauxval(AT_PLATFORM));
    unsigned int leaf_a, leaf_b, leaf_c, leaf_d;
    __cpuid(1, leaf_a, leaf_b, leaf_c, leaf_d);
    printf("AT_HWCAP is CPUID leaf 1's EDX: %s\n", getauxval(AT_HWCAP) == leaf_d ? "yes" : "no");
    const unsigned char *random = (const unsigned char *)getauxval(AT_RANDOM);
    unsigned sum = 0;
    for (int i = 0; random && i < 16; i++)
        sum |= random[i];
    printf("AT_RANDOM: 16 readable bytes, not all zero: %s\n", random && sum ? "yes" : "no");
    printf("AT_EXECFN is argv[0] here: %s\n",
           strcmp((const char *)getauxval(AT_EXECFN), program_invocation_name) == 0 ? "yes" : "no");
    return 0;
}

static int secure(char **argv)
{
    if (setresuid(1000, 0, 0) != 0) {
        printf("setresuid: %s\n", strerror(errno));
        return 1;
    }
    char *args[] = {argv[0], "secure-child", NULL};
    execv("/proc/self/exe", args);
    printf("execv: %s\n", strerror(errno));
    return 1;
}

/* --- #! scripts -------------------------------------------------------------------------------- */

static int scripts(void)
{
    char text[1200], path[600], other[600];
    snprintf(text, sizeof text, "#!%s\nbody\n", self);
    script("plain", "s-plain", text, 0, 0755);
    snprintf(text, sizeof text, "#!%s  one  two  \nbody\n", self);
    script("one argument, spaces kept inside", "s-arg", text, 0, 0755);
    snprintf(text, sizeof text, "#! \t%s\targ\t \n", self);
    script("tabs and spaces around", "s-tabs", text, 0, 0755);
    int n = snprintf(text, sizeof text, "#!%s x", self);
    text[n++] = 0;
    n += snprintf(text + n, sizeof text - n, "y\n");
    script("a NUL ends the argument", "s-nul", text, n, 0755);
    snprintf(text, sizeof text, "#!%s arg", self);
    script("no newline at the end of the file", "s-eof", text, 0, 0755);
    /* the argument is cut where the line is: the same place whatever SELF is, through a link */
    snprintf(path, sizeof path, "%s/i", dir);
    unlink(path);
    if (symlink(self, path) != 0 || chdir(dir) != 0)
        printf("cannot link %s to SELF: %s\n", path, strerror(errno));
    n = snprintf(text, sizeof text, "#!./i ");
    memset(text + n, 'x', 400);
    text[n + 400] = 0;
    script("a line longer than 256 bytes: the argument is cut", "s-long", text, 0, 0755);
    memset(text, 0, sizeof text);
    strcpy(text, "#!/");
    memset(text + 3, 'y', 300);
    script("an interpreter path longer than 256 bytes", "s-longname", text, 0, 0755);
    script("#! and blanks only", "s-blank", "#!  \t \nbody\n", 0, 0755);
    script("#! alone", "s-empty", "#!", 0, 0755);
    script("a missing interpreter", "s-missing", "#!/no/such/interpreter\n", 0, 0755);
    snprintf(text, sizeof text, "#!%s\r\n", self);
    script("a DOS line end", "s-crlf", text, 0, 0755);
    snprintf(text, sizeof text, "#!%s\n", dir);
    script("a directory as interpreter", "s-dir", text, 0, 0755);
    make("plainfile", "hello\n", 6, 0644, other, sizeof other);
    snprintf(text, sizeof text, "#!%s\n", other);
    script("an interpreter nobody may execute", "s-noexec-interp", text, 0, 0755);
    snprintf(text, sizeof text, "#!%s\n", self);
    script("a script nobody may execute", "s-noexec", text, 0, 0644);
    make("textfile", "just text\n", 10, 0755, other, sizeof other);
    snprintf(text, sizeof text, "#!%s\n", other);
    script("an interpreter with no format", "s-text-interp", text, 0, 0755);

    /* scripts run by scripts: five are followed, the sixth is ELOOP */
    snprintf(other, sizeof other, "%s", self);
    for (int level = 1; level <= 6; level++) {
        char name[32], what[64];
        snprintf(name, sizeof name, "chain%d", level);
        snprintf(text, sizeof text, "#!%s level%d\n", other, level);
        make(name, text, strlen(text), 0755, path, sizeof path);
        snprintf(what, sizeof what, "%d scripts deep", level);
        char *args[] = {name, "a", NULL};
        if (level >= 2)
            run(what, path, args);
        snprintf(other, sizeof other, "%s", path);
    }

    /* the names as given: relative, and an empty argv */
    char *relative[] = {"whatever", "a", NULL};
    run("run by a relative path", "./s-plain", relative);
    char *none[] = {NULL};
    snprintf(path, sizeof path, "%s/s-plain", dir);
    run("a script with an empty argv", path, none);
    run("a program with an empty argv", self, none);
    return 0;
}

/* --- ELF files with interpreters ---------------------------------------------------------------- */

#define BASE 0x20000000UL
#define CODE_AT 0x200

struct image {
    ElfW(Ehdr) ehdr;
    ElfW(Phdr) phdr[3];
    unsigned char rest[0x400 - sizeof(ElfW(Ehdr)) - 3 * sizeof(ElfW(Phdr))];
};

/* exit(0) */
static const unsigned char exit_code[] = {0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05};

/* a small static ET_EXEC program: a PT_LOAD of its whole file, code that exits 0, then a
 * PT_INTERP at INTERP_AT naming `interp` (with `len` bytes counted) */
static size_t elf_with_interp(struct image *im, const char *interp, size_t len, size_t at)
{
    memset(im, 0, sizeof *im);
    memcpy(im->ehdr.e_ident, ELFMAG, SELFMAG);
    im->ehdr.e_ident[EI_CLASS] = ELFCLASS64;
    im->ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
    im->ehdr.e_ident[EI_VERSION] = EV_CURRENT;
    im->ehdr.e_type = ET_EXEC;
    im->ehdr.e_machine = EM_X86_64;
    im->ehdr.e_version = EV_CURRENT;
    im->ehdr.e_entry = BASE + CODE_AT;
    im->ehdr.e_phoff = offsetof(struct image, phdr);
    im->ehdr.e_ehsize = sizeof(ElfW(Ehdr));
    im->ehdr.e_phentsize = sizeof(ElfW(Phdr));
    im->ehdr.e_phnum = interp ? 2 : 1;
    ElfW(Phdr) *load = &im->phdr[interp ? 1 : 0];
    load->p_type = PT_LOAD;
    load->p_flags = PF_R | PF_X;
    load->p_vaddr = load->p_paddr = BASE;
    load->p_filesz = load->p_memsz = sizeof *im;
    load->p_align = 4096;
    memcpy((char *)im + CODE_AT, exit_code, sizeof exit_code);
    if (interp) {
        ElfW(Phdr) *ph = &im->phdr[0];
        ph->p_type = PT_INTERP;
        ph->p_flags = PF_R;
        ph->p_offset = at;
        ph->p_filesz = len;
        size_t room = sizeof *im - at < strlen(interp) ? sizeof *im - at : strlen(interp);
        if (at < sizeof *im)
            memcpy((char *)im + at, interp, room);
    }
    return sizeof *im;
}

static void elf(const char *what, const char *name, struct image *im, size_t len)
{
    char path[600];
    make(name, im, len, 0755, path, sizeof path);
    char *args[] = {(char *)name, "x", NULL};
    run(what, path, args);
}

static int elfs(void)
{
    struct image im;
    char other[600], text[600];
    const size_t at = 0x300;
    size_t len = elf_with_interp(&im, NULL, 0, at);
    elf("a static program made here", "e-static", &im, len);
    len = elf_with_interp(&im, self, strlen(self) + 1, at);
    elf("its interpreter a static program (which then runs)", "e-self", &im, len);
    len = elf_with_interp(&im, "/no/such/ld.so", 15, at);
    elf("an interpreter that is not there", "e-missing", &im, len);
    len = elf_with_interp(&im, "x", 1, at);
    elf("a PT_INTERP of 1 byte", "e-short", &im, len);
    len = elf_with_interp(&im, self, 5000, at);
    elf("a PT_INTERP longer than PATH_MAX", "e-long", &im, len);
    len = elf_with_interp(&im, self, strlen(self), at);
    elf("a PT_INTERP without its NUL", "e-nonul", &im, len);
    len = elf_with_interp(&im, self, 64, 0x3f0);
    elf("a PT_INTERP past the end of the file", "e-past", &im, len);
    len = elf_with_interp(&im, dir, strlen(dir) + 1, at);
    elf("a directory as interpreter", "e-dir", &im, len);
    make("plain", "hello\n", 6, 0644, other, sizeof other);
    len = elf_with_interp(&im, other, strlen(other) + 1, at);
    elf("an interpreter nobody may execute", "e-noexec", &im, len);
    make("short", "#!/bin/sh\n", 10, 0755, other, sizeof other);
    len = elf_with_interp(&im, other, strlen(other) + 1, at);
    elf("a file shorter than an ELF header as interpreter", "e-short-interp", &im, len);
    memset(text, '#', 100);
    make("text", text, 100, 0755, other, sizeof other);
    len = elf_with_interp(&im, other, strlen(other) + 1, at);
    elf("a text file as interpreter", "e-text-interp", &im, len);
    struct image bad;
    elf_with_interp(&bad, NULL, 0, at);
    bad.ehdr.e_ident[EI_CLASS] = ELFCLASS32;
    make("elf32", &bad, sizeof bad, 0755, other, sizeof other);
    len = elf_with_interp(&im, other, strlen(other) + 1, at);
    elf("an interpreter saying it is 32-bit (Linux looks at its machine only)", "e-elf32", &im, len);
    bad.ehdr.e_machine = EM_386;
    make("i386", &bad, sizeof bad, 0755, other, sizeof other);
    len = elf_with_interp(&im, other, strlen(other) + 1, at);
    elf("an interpreter for another machine", "e-i386", &im, len);
    bad.ehdr.e_machine = EM_X86_64;
    bad.ehdr.e_ident[EI_CLASS] = ELFCLASS64;
    bad.ehdr.e_phentsize = 40;
    make("badph", &bad, sizeof bad, 0755, other, sizeof other);
    len = elf_with_interp(&im, other, strlen(other) + 1, at);
    elf("an interpreter with program headers of the wrong size", "e-badph", &im, len);
    snprintf(text, sizeof text, "%s%c%s", self, 0, "junk");
    len = elf_with_interp(&im, text, strlen(self) + 6, at);
    elf("a NUL inside PT_INTERP (the path ends there)", "e-inner-nul", &im, len);

    len = elf_with_interp(&im, NULL, 0, at);
    im.ehdr.e_phnum = 2;
    im.phdr[1] = im.phdr[0];
    elf("two PT_LOADs over the same pages", "e-overlap", &im, len);
    len = elf_with_interp(&im, NULL, 0, at);
    im.ehdr.e_phentsize = 40;
    elf("program headers of the wrong size", "e-phentsize", &im, len);
    len = elf_with_interp(&im, NULL, 0, at);
    im.ehdr.e_machine = EM_AARCH64;
    elf("an ELF file for another machine", "e-machine", &im, len);
    len = elf_with_interp(&im, NULL, 0, at);
    im.ehdr.e_type = ET_REL;
    elf("an object file", "e-rel", &im, len);
    return 0;
}

int main(int argc, char **argv)
{
    if (getenv("EXECTEST_SHOW"))
        return show(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "aux") == 0)
        return aux();
    if (argc >= 2 && strcmp(argv[1], "secure") == 0)
        return secure(argv);
    if (argc >= 2 && strcmp(argv[1], "secure-child") == 0) {
        printf("AT_SECURE %lu with real uid %lu and effective uid %lu\n", getauxval(AT_SECURE),
               getauxval(AT_UID), getauxval(AT_EUID));
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "scripts") == 0) {
        dir = argv[2], self = argv[3];
        return scripts();
    }
    if (argc >= 2 && strcmp(argv[1], "try") == 0) {
        for (int i = 2; i < argc; i++) {
            char *args[] = {argv[i], NULL};
            run(argv[i], argv[i], args);
        }
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "elf") == 0) {
        dir = argv[2], self = argv[3];
        return elfs();
    }
    fprintf(stderr, "usage: exectest aux | secure | scripts DIR SELF | elf DIR SELF | try FILE...\n");
    return 2;
}
