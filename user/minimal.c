/* minimal: no libc at all.  Exercises only the ELF loader, the entry point
 * and two raw syscalls, so it still runs when nothing else does. */

#define SYS_write       1
#define SYS_exit_group  231

static long raw_syscall3(long nr, long a1, long a2, long a3)
{
    long ret;
    /* The syscall instruction clobbers rcx (return rip) and r11 (rflags). */
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a1), "S"(a2), "d"(a3)
                     : "rcx", "r11", "memory");
    return ret;
}

__attribute__((noreturn, used)) void minimal_main(void)
{
    static const char msg[] = "minimal: ok\n";

    raw_syscall3(SYS_write, 1, (long)msg, sizeof msg - 1);
    for (;;)
        raw_syscall3(SYS_exit_group, 0, 0, 0);
}

/* The kernel enters with rsp pointing at argc and 16-byte aligned.  A C
 * function expects rsp+8 to be aligned (as after a call), so clear rbp to
 * end backtraces here and use call to push a (never used) return address. */
__asm__(".text\n"
        ".global _start\n"
        ".type _start, @function\n"
        "_start:\n"
        "    xor %ebp, %ebp\n"
        "    and $-16, %rsp\n"
        "    call minimal_main\n"
        "    hlt\n"
        ".size _start, . - _start\n");
