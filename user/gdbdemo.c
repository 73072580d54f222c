/* gdbdemo: a program to debug with gdb through `kernkit boot --gdb`; built with -g -O0, so gdb
 * has lines, types and frames.
 *   gdbdemo              sums squares into a global, prints it
 *   gdbdemo threads N    N threads each run worker(); joined
 *   gdbdemo fork         a child runs child_task() and exits with 3; the parent waits
 *   gdbdemo segv         writes through a null pointer in crash()
 *   gdbdemo spin         loops for ever (to interrupt)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int counter;
const char *greeting = "hello from gdbdemo";
volatile long spins;

int square(int x)
{
    return x * x;
}

int add_up(int n)
{
    int total = 0;
    for (int i = 1; i <= n; i++)
        total += square(i);
    return total;
}

void *worker(void *arg)
{
    long id = (long)arg;
    __atomic_add_fetch(&counter, (int)id, __ATOMIC_SEQ_CST);
    return NULL;
}

int child_task(void)
{
    counter = 42;
    return 3;
}

void crash(void)
{
    volatile int *volatile nowhere = NULL;
    *nowhere = counter;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "threads")) {
        int n = argc > 2 ? atoi(argv[2]) : 2;
        pthread_t threads[16];
        if (n > 16)
            n = 16;
        for (long i = 0; i < n; i++)
            pthread_create(&threads[i], NULL, worker, (void *)(i + 1));
        for (int i = 0; i < n; i++)
            pthread_join(threads[i], NULL);
        printf("threads: counter=%d\n", counter);
        return 0;
    }
    if (!strcmp(mode, "fork")) {
        pid_t child = fork();
        if (child == 0)
            exit(child_task());
        int status = 0;
        waitpid(child, &status, 0);
        printf("fork: child %d exited with %d\n", (int)child, WEXITSTATUS(status));
        return 0;
    }
    if (!strcmp(mode, "segv")) {
        crash();
        return 0;
    }
    if (!strcmp(mode, "spin")) {
        for (;;)
            spins++;
    }
    counter = add_up(10);
    printf("%s: counter=%d\n", greeting, counter);
    return 0;
}
