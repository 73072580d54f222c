/* tls: reads and writes an initialised thread-local variable.  musl copies
 * the PT_TLS image found via AT_PHDR and sets fs with arch_prctl, so this
 * checks the auxiliary vector, the TLS program header and fs-relative access. */
#include <stdio.h>

__thread int counter = 42;

int main(void)
{
    printf("tls counter=%d\n", counter);
    counter++;
    printf("tls counter=%d\n", counter);
    return 0;
}
