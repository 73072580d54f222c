/* idle: wait for ever without using the CPU, so a kernel keeps running its services
 * (a 9P export, say) until it is interrupted. Prints "idle" first so a watcher knows the
 * kernel is up. It waits on a futex no one wakes: no timer, so virtual time stands still. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FUTEX_WAIT 0

static int word;

int main(void)
{
    printf("idle\n");
    fflush(stdout);
    for (;;)
        syscall(SYS_futex, &word, FUTEX_WAIT, 0, NULL, NULL, 0);
}
