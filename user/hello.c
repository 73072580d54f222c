/* hello: the smallest libc-based smoke test for the ELF loader and write(2). */
#include <stdio.h>

int main(void)
{
    printf("Hello from kernkit!\n");
    return 0;
}
