/* procs: processes and threads, one scenario per argument.
 *   fork      fork a child that exits 7; the parent waits and reports the status
 *   exec      fork; the child execs "hello"; the parent waits
 *   threads   N threads (argv[2], default 4) add to a mutex-protected counter, joined
 *   condvar   a producer and a consumer hand 1000 items over a condition variable
 *   orphan    a child outlives its parent's wait and is reaped by init
 *   kill      fork a child that sleeps; kill it with SIGTERM; report how it died
 *   tree      three generations; the grandchild's exit status travels up
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static long counter;
static int slot = -1, done;

static void report(const char *what, int status)
{
    if (WIFEXITED(status))
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("%s: killed by signal %d\n", what, WTERMSIG(status));
}

static int do_fork(void)
{
    pid_t child = fork();
    if (child == 0)
        _exit(7);
    int status;
    pid_t got = waitpid(child, &status, 0);
    printf("fork: child %s\n", got == child ? "reaped" : "lost");
    report("fork", status);
    return waitpid(-1, &status, WNOHANG) == -1 ? 0 : 1; /* no children left: ECHILD */
}

static int do_exec(void)
{
    pid_t child = fork();
    if (child == 0) {
        char *argv[] = {"hello", NULL};
        execv("/bin/hello", argv);
        printf("exec failed\n");
        _exit(127);
    }
    int status;
    waitpid(child, &status, 0);
    report("exec", status);
    return 0;
}

static void *add(void *arg)
{
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&lock);
        counter += (long)arg;
        pthread_mutex_unlock(&lock);
        if (i % 100 == 0)
            sched_yield();
    }
    return arg;
}

static int do_threads(int n)
{
    pthread_t threads[64];
    if (n > 64)
        n = 64;
    for (long i = 0; i < n; i++)
        pthread_create(&threads[i], NULL, add, (void *)(i + 1));
    long sum = 0;
    for (int i = 0; i < n; i++) {
        void *result;
        pthread_join(threads[i], &result);
        sum += (long)result;
    }
    printf("threads: %d joined, counter %ld (expected %ld)\n", n, counter, sum * 1000);
    return counter == sum * 1000 ? 0 : 1;
}

static void *consume(void *unused)
{
    (void)unused;
    long total = 0;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (slot < 0 && !done)
            pthread_cond_wait(&changed, &lock);
        if (slot < 0 && done) {
            pthread_mutex_unlock(&lock);
            break;
        }
        total += slot;
        slot = -1;
        pthread_cond_signal(&changed);
        pthread_mutex_unlock(&lock);
    }
    return (void *)total;
}

static int do_condvar(void)
{
    pthread_t consumer;
    pthread_create(&consumer, NULL, consume, NULL);
    for (int i = 1; i <= 1000; i++) {
        pthread_mutex_lock(&lock);
        while (slot >= 0)
            pthread_cond_wait(&changed, &lock);
        slot = i;
        pthread_cond_signal(&changed);
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_lock(&lock);
    while (slot >= 0)
        pthread_cond_wait(&changed, &lock);
    done = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    void *total;
    pthread_join(consumer, &total);
    printf("condvar: consumed %ld\n", (long)total);
    return (long)total == 500500 ? 0 : 1;
}

static int do_kill(void)
{
    pid_t child = fork();
    if (child == 0) {
        struct timespec forever = {1000000, 0};
        nanosleep(&forever, NULL);
        _exit(0);
    }
    sched_yield();
    kill(child, SIGTERM);
    int status;
    waitpid(child, &status, 0);
    report("kill", status);
    return 0;
}

static int do_tree(void)
{
    pid_t child = fork();
    if (child == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0)
            _exit(5);
        int status;
        waitpid(grandchild, &status, 0);
        _exit(WEXITSTATUS(status) + 1);
    }
    int status;
    waitpid(child, &status, 0);
    report("tree", status);
    return 0;
}

static int do_orphan(void)
{
    pid_t child = fork();
    if (child == 0) {
        pid_t parent = getpid();
        pid_t grandchild = fork();
        if (grandchild == 0) {
            /* wait until the parent has exited (on a loaded host it may not have yet) */
            for (int i = 0; i < 2000 && getppid() == parent; i++) {
                struct timespec nap = {0, 1000000};
                nanosleep(&nap, NULL);
            }
            printf("orphan: parent is now %d\n", (int)getppid());
            _exit(0);
        }
        _exit(0); /* leave the grandchild behind */
    }
    int status;
    waitpid(child, &status, 0);
    struct timespec pause = {0, 5000000};
    nanosleep(&pause, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IONBF, 0);
    if (!strcmp(mode, "fork"))
        return do_fork();
    if (!strcmp(mode, "exec"))
        return do_exec();
    if (!strcmp(mode, "threads"))
        return do_threads(argc > 2 ? atoi(argv[2]) : 4);
    if (!strcmp(mode, "condvar"))
        return do_condvar();
    if (!strcmp(mode, "kill"))
        return do_kill();
    if (!strcmp(mode, "tree"))
        return do_tree();
    if (!strcmp(mode, "orphan"))
        return do_orphan();
    fprintf(stderr, "usage: procs fork|exec|threads [N]|condvar|kill|tree|orphan\n");
    return 2;
}
