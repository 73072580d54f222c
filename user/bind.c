/* bind: change the namespace (of this process and those sharing it), as Plan 9's bind(1).
 *   bind [-a|-b] [-c] NEW OLD   make OLD show NEW: replace it, or join a union after (-a) or
 *                               before (-b) what is there; -c sends files created there to NEW
 *   bind -u OLD                 undo every bind on OLD
 * It uses mount(2) with MS_BIND, passing the union flags as the data string. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

int main(int argc, char **argv)
{
    char flags[8] = "-";
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (!strcmp(argv[i], "-u")) {
            if (i + 2 != argc)
                break;
            if (umount2(argv[i + 1], 0) < 0) {
                fprintf(stderr, "bind: unmount %s: %s\n", argv[i + 1], strerror(errno));
                return 1;
            }
            return 0;
        }
        if (strlen(flags) + strlen(argv[i] + 1) >= sizeof flags)
            break;
        strcat(flags, argv[i] + 1);
    }
    if (argc - i != 2 || strspn(flags + 1, "abc") != strlen(flags + 1)) {
        fprintf(stderr, "usage: bind [-a|-b] [-c] NEW OLD | bind -u OLD\n");
        return 2;
    }
    if (mount(argv[i], argv[i + 1], NULL, MS_BIND, flags) < 0) {
        fprintf(stderr, "bind: %s %s: %s\n", argv[i], argv[i + 1], strerror(errno));
        return 1;
    }
    return 0;
}
