/* exitcode: exits with the status in argv[1] (default 3), via exit() so
 * atexit handlers and stdio flushing run before exit_group. */
#include <stdlib.h>

int main(int argc, char **argv)
{
    exit(argc > 1 ? atoi(argv[1]) : 3);
}
