/* httpload PORT CONNECTIONS REQUESTS [PATH]: an HTTP load generator inside the kernel.
 *
 * CONNECTIONS threads each connect to 127.0.0.1:PORT (retrying while nobody listens yet) and
 * send REQUESTS keep-alive GETs of PATH (default /) one after the other, reading each reply
 * whole (by its Content-Length).  Prints one JSON line: requests, failures, the virtual time from
 * the moment every connection is up to the last reply, and requests per virtual second. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port, requests;
static const char *path = "/";
static long failures, served;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t connected; /* the clock starts once every connection is up */

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static int dial(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int attempt = 0; attempt < 2000; attempt++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0)
            return fd;
        if (fd >= 0)
            close(fd);
        usleep(1000); /* the server is not listening yet */
    }
    return -1;
}

/* One reply: headers up to the blank line, then Content-Length bytes.  0, or -1. */
static int read_reply(int fd, char *buf, size_t size)
{
    size_t have = 0;
    char *end = NULL;
    while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
        ssize_t n = read(fd, buf + have, size - have);
        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
    if (strncmp(buf, "HTTP/1.1 200", 12))
        return -1;
    char *length = strcasestr(buf, "Content-Length:");
    if (!length || length > end)
        return -1;
    size_t body = strtoul(length + 15, NULL, 10), got = have - (size_t)(end + 4 - buf);
    while (got < body) {
        ssize_t n = read(fd, buf, size < body - got ? size : body - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

static void *client(void *arg)
{
    (void)arg;
    static char request[256];
    int len = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: load\r\n\r\n", path);
    char buf[16384];
    int fd = dial(), ok = 0;
    pthread_barrier_wait(&connected);
    for (int i = 0; fd >= 0 && i < requests; i++) {
        if (write(fd, request, (size_t)len) != len || read_reply(fd, buf, sizeof buf) < 0)
            break;
        ok++;
    }
    if (fd >= 0)
        close(fd);
    pthread_mutex_lock(&lock);
    served += ok;
    failures += requests - ok;
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: httpload PORT CONNECTIONS REQUESTS [PATH]\n");
        return 2;
    }
    port = atoi(argv[1]);
    int connections = atoi(argv[2]);
    requests = atoi(argv[3]);
    if (argc > 4)
        path = argv[4];
    if (connections < 1 || connections > 256 || requests < 1) {
        fprintf(stderr, "httpload: 1..256 connections, 1 or more requests\n");
        return 2;
    }
    pthread_t threads[256];
    pthread_barrier_init(&connected, NULL, (unsigned)connections + 1);
    for (int i = 0; i < connections; i++)
        pthread_create(&threads[i], NULL, client, NULL);
    pthread_barrier_wait(&connected);
    long start = now_ns();
    for (int i = 0; i < connections; i++)
        pthread_join(threads[i], NULL);
    long elapsed = now_ns() - start;
    printf("{\"program\": \"httpload\", \"connections\": %d, \"requests\": %ld, \"failures\": %ld, "
           "\"virtual_ns\": %ld, \"requests_per_virtual_s\": %ld}\n",
           connections, served, failures, elapsed, elapsed ? served * 1000000000L / elapsed : 0);
    return failures ? 1 : 0;
}
