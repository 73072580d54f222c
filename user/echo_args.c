/* echo_args: dumps argc, argv and the environment, to check the initial
 * user stack that the kernel builds (argv/envp arrays and their strings). */
#include <stdio.h>

extern char **environ;

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    for (char **e = environ; *e != NULL; e++)
        printf("env=%s\n", *e);
    return 0;
}
