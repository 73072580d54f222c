/* posix_check: what a pthreads program needs beyond threads and locks, checked the same way on
 * Linux (musl) and on parlib's POSIX layer, so the two outputs can be compared line by line.
 *   posix_check fp             three pthreads doing SSE and x87 arithmetic, each with its own
 *                              rounding mode, interleaved: their results, exactly
 *   posix_check timed          timed condition waits, mutex locks and semaphore waits; sleeps
 *   posix_check cancel         deferred cancellation: waits and sleeps cancelled, cleanup handlers,
 *                              cancellation disabled and enabled again, open and connect as
 *                              cancellation points (and stdio not)
 *   posix_check signal         signal handlers run by raise and kill, ignored signals
 *   posix_check tls            __thread and _Thread_local variables: each pthread its own copy,
 *                              starting from the program's initial values, kept across switches
 *   posix_check float          printf's %f %e %g (and F E G) of ordinary and edge values, with
 *                              flags, widths and precisions, printed and formatted in pthreads
 *   posix_check hexfloat       printf's %a and %A: normal, subnormal and special values, rounded
 *                              at every precision (ties to even), with flags and widths
 *   posix_check ldouble        the same with L (long double, the 80-bit format): edge values,
 *                              LDBL_MAX's thousands of digits, subnormals, pseudo-denormals,
 *                              unnormals, and random bit patterns from a fixed seed
 *   posix_check sigmask        sigaction (SA_SIGINFO, SA_RESETHAND, sa_mask), per-pthread masks:
 *                              blocked signals pending until a pthread unblocks them
 *   posix_check sigwait        sigwait, sigtimedwait, sigsuspend, pause and pthread_kill; a kill'd
 *                              signal runs its handler on the one pthread that does not block it,
 *                              while that pthread computes, sleeps or waits
 *   posix_check eintr          a handler cuts sleeps, sem_wait and a socket read short with EINTR
 *                              (the read restarted under SA_RESTART); a mutex or condition wait
 *                              runs the handler and waits on; a blocked signal cuts nothing
 *   posix_check poll DIR       poll, ppoll, select and pselect on pipes, sockets and a
 *                              regular file made in DIR: readiness, timeouts, a pthread
 *                              computing while one polls, a handler cutting them short
 *                              (EINTR, SA_RESTART or not)
 *   posix_check pollshare      a pthread computes while another polls: when each thing
 *                              happened, a JSON line (in virtual time under kernkit)
 *   posix_check epoll DIR      epoll on pipes, sockets and a regular file made in DIR:
 *                              epoll_ctl's errors, level- and edge-triggered, one-shot,
 *                              maxevents, closed descriptors, hangups, EINTR, epoll_pwait's
 *                              mask, cancellation
 *   posix_check epollshare     pollshare with epoll_wait
 *   posix_check waitintr SELF  a handler runs while pthread_join, pthread_mutex_timedlock,
 *                              waitpid (of SELF sleepms 50) and sigtimedwait wait: join and
 *                              the lock wait on, waitpid is EINTR unless SA_RESTART,
 *                              sigtimedwait and sigwaitinfo EINTR, sigwait waits on
 *   posix_check spawn PROGRAM  fork and exec of PROGRAM 7 (it exits with 7), posix_spawn of it,
 *                              and a fork child whose exec fails and which _exits
 *   posix_check jobs SELF      process groups and sessions: posix_spawn's SETPGROUP and SETSID,
 *                              a fork child's setpgid and setsid, their errors, kill(-pgid)
 *                              and killpg reaching a group of SELF jobwait children */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct timespec in_ms(long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (ms % 1000) * 1000000;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	return ts;
}

/* --- fp ------------------------------------------------------------------------------------ */

#define FP_ROUNDS 60000

static char fp_result[4][96]; /* printed in order once all are done */

static void set_mxcsr_rounding(unsigned mode)
{
	unsigned csr;
	__asm__ volatile("stmxcsr %0" : "=m"(csr));
	csr = (csr & ~0x6000u) | (mode << 13);
	__asm__ volatile("ldmxcsr %0" : : "m"(csr));
}

static void set_x87_rounding(unsigned mode)
{
	unsigned short cw;
	__asm__ volatile("fnstcw %0" : "=m"(cw));
	cw = (unsigned short)((cw & ~0xc00u) | (mode << 10));
	__asm__ volatile("fldcw %0" : : "m"(cw));
}

static void *sse_worker(void *arg)
{
	unsigned mode = (unsigned)(long)arg; /* 1: down, 2: up, 3: toward zero */
	set_mxcsr_rounding(mode);
	volatile double seed = 1.0 + mode;
	double x = seed, y = 0.1 * mode;
	for (int i = 1; i <= FP_ROUNDS; i++) {
		x = x * 1.0000001 + y / i;
		y = y * 0.9999999 + x / (i + 7.0);
		if (i % 997 == 0)
			sched_yield();
	}
	uint64_t bits[2];
	memcpy(&bits[0], &x, 8);
	memcpy(&bits[1], &y, 8);
	unsigned csr;
	__asm__ volatile("stmxcsr %0" : "=m"(csr));
	snprintf(fp_result[mode], sizeof fp_result[mode], "sse rounding %u: %016llx %016llx mxcsr rc %u\n", mode,
	         (unsigned long long)bits[0], (unsigned long long)bits[1], (csr >> 13) & 3);
	return NULL;
}

static void *x87_worker(void *arg)
{
	(void)arg;
	set_x87_rounding(3);
	volatile long double seed = 3.0L;
	long double x = seed;
	for (int i = 1; i <= FP_ROUNDS; i++) {
		x = x * 1.00000001L + 1.0L / (i + 0.5L);
		if (i % 1009 == 0)
			sched_yield();
	}
	unsigned char raw[16] = { 0 };
	memcpy(raw, &x, 10);
	char *at = fp_result[0];
	at += snprintf(at, 32, "x87 toward zero: ");
	for (int i = 9; i >= 0; i--)
		at += snprintf(at, 4, "%02x", raw[i]);
	snprintf(at, 2, "\n");
	return NULL;
}

static void *napper(void *arg)
{
	(void)arg;
	for (int i = 0; i < 40; i++)
		usleep(100);
	return NULL;
}

static int check_fp(void)
{
	pthread_t t[5];
	pthread_create(&t[0], NULL, sse_worker, (void *)1L);
	pthread_create(&t[1], NULL, sse_worker, (void *)2L);
	pthread_create(&t[2], NULL, sse_worker, (void *)3L);
	pthread_create(&t[3], NULL, x87_worker, NULL);
	pthread_create(&t[4], NULL, napper, NULL); /* its wake-ups interrupt the others */
	for (int i = 0; i < 5; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 4; i++)
		printf("%s", fp_result[i]);
	return 0;
}

/* --- timed --------------------------------------------------------------------------------- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static volatile int flag;

static void *hold_lock(void *arg)
{
	pthread_mutex_lock(&lock);
	flag = 1;
	usleep((useconds_t)(long)arg);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void *signal_later(void *arg)
{
	(void)arg;
	usleep(1000);
	pthread_mutex_lock(&lock);
	flag = 2;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void *post_later(void *arg)
{
	(void)arg;
	usleep(1000);
	sem_post(&sem);
	return NULL;
}

static int check_timed(void)
{
	uint64_t start = now_ns();
	struct timespec when = in_ms(2);
	pthread_mutex_lock(&lock);
	int r = pthread_cond_timedwait(&cv, &lock, &when);
	pthread_mutex_unlock(&lock);
	printf("cond_timedwait, nobody signals: %s, waited 2 ms or more: %s\n", r == ETIMEDOUT ? "ETIMEDOUT" : "?",
	       now_ns() - start >= 2000000 ? "yes" : "no");

	pthread_t t;
	pthread_create(&t, NULL, signal_later, NULL);
	when = in_ms(1000);
	pthread_mutex_lock(&lock);
	r = 0;
	while (flag != 2 && r == 0)
		r = pthread_cond_timedwait(&cv, &lock, &when);
	pthread_mutex_unlock(&lock);
	pthread_join(t, NULL);
	printf("cond_timedwait, signalled after 1 ms: %d, flag %d, well before the deadline: %s\n", r, flag,
	       now_ns() - start < 500000000 ? "yes" : "no");

	when.tv_nsec = 1000000000;
	pthread_mutex_lock(&lock);
	r = pthread_cond_timedwait(&cv, &lock, &when);
	pthread_mutex_unlock(&lock);
	printf("cond_timedwait, tv_nsec 1e9: %s\n", r == EINVAL ? "EINVAL" : "?");

	flag = 0;
	/* held far longer than the deadline: natively, a loaded host may keep this thread off its
	 * core for milliseconds between seeing the flag and asking for the lock */
	pthread_create(&t, NULL, hold_lock, (void *)200000L);
	while (!flag)
		sched_yield();
	start = now_ns();
	when = in_ms(1);
	r = pthread_mutex_timedlock(&lock, &when);
	printf("mutex_timedlock, held 200 ms, 1 ms deadline: %s, waited 1 ms or more: %s\n",
	       r == ETIMEDOUT ? "ETIMEDOUT" : "?", now_ns() - start >= 1000000 ? "yes" : "no");
	when = in_ms(1000);
	r = pthread_mutex_timedlock(&lock, &when);
	printf("mutex_timedlock, 1 s deadline: %d\n", r);
	pthread_mutex_unlock(&lock);
	pthread_join(t, NULL);

	sem_init(&sem, 0, 0);
	when = in_ms(1);
	r = sem_timedwait(&sem, &when);
	printf("sem_timedwait, nobody posts: %d %s\n", r, r ? (errno == ETIMEDOUT ? "ETIMEDOUT" : "?") : "");
	pthread_create(&t, NULL, post_later, NULL);
	when = in_ms(1000);
	r = sem_timedwait(&sem, &when);
	pthread_join(t, NULL);
	int value = -1;
	sem_getvalue(&sem, &value);
	int tried = sem_trywait(&sem);
	printf("sem_timedwait, posted after 1 ms: %d, value %d, trywait: %d %s\n", r, value, tried,
	       errno == EAGAIN ? "EAGAIN" : "?");

	start = now_ns();
	struct timespec nap = { 0, 3000000 };
	r = nanosleep(&nap, NULL);
	uint64_t slept = now_ns() - start;
	printf("nanosleep 3 ms: %d, slept 3 ms or more: %s, less than 1 s: %s\n", r, slept >= 3000000 ? "yes" : "no",
	       slept < 1000000000 ? "yes" : "no");
	return 0;
}

/* --- cancel -------------------------------------------------------------------------------- */

static void unlock_it(void *arg)
{
	printf("cleanup: unlock\n");
	pthread_mutex_unlock(arg);
}

static void say(void *arg)
{
	printf("cleanup: %s\n", (const char *)arg);
}

static void *cond_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	pthread_cleanup_push(unlock_it, &lock);
	flag = 1;
	for (;;)
		pthread_cond_wait(&cv, &lock);
	pthread_cleanup_pop(1);
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	pthread_cleanup_push(say, "sleeper");
	flag = 1;
	sleep(100);
	pthread_cleanup_pop(0);
	return (void *)1;
}

static void *sem_waiter(void *arg)
{
	(void)arg;
	pthread_cleanup_push(say, "sem_wait");
	flag = 1;
	sem_wait(&sem);
	pthread_cleanup_pop(0);
	return (void *)1;
}

static void *deferred(void *arg)
{
	(void)arg;
	int old;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	pthread_cleanup_push(say, "outer");
	pthread_cleanup_push(say, "inner");
	pthread_cleanup_push(say, "popped, not run");
	pthread_cleanup_pop(0);
	flag = 1;
	while (flag != 2)
		sched_yield();
	usleep(200); /* not a cancellation point while disabled */
	printf("disabled: still running after the cancel (old state %d)\n", old);
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	pthread_testcancel();
	printf("not reached\n");
	pthread_cleanup_pop(0);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *acceptor(void *arg)
{
	(void)arg;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr = { htonl(INADDR_LOOPBACK) } };
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 4) < 0) {
		perror("listen");
		return NULL;
	}
	pthread_cleanup_push(say, "accept's cleanup handler ran");
	flag = 1;
	accept(s, NULL, NULL); /* nobody calls: waits until cancelled */
	pthread_cleanup_pop(0);
	return NULL;
}

/* A cancellation pending on entry: stdio goes on (it is no cancellation point in musl either),
 * open, openat and connect end the pthread before they do anything. */
static void *at_entry(void *arg)
{
	const char *what = arg;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_cancel(pthread_self());
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	pthread_cleanup_push(say, (void *)what);
	printf("%s: printf with a cancellation pending goes on\n", what);
	fprintf(stdout, "%s: so does fprintf\n", what);
	if (!strcmp(what, "open")) {
		open("/", O_RDONLY);
	} else if (!strcmp(what, "openat")) {
		openat(AT_FDCWD, "/", O_RDONLY);
	} else {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9), .sin_addr = { htonl(INADDR_LOOPBACK) } };
		connect(s, (struct sockaddr *)&a, sizeof a);
	}
	printf("%s: not reached\n", what);
	pthread_cleanup_pop(0);
	return NULL;
}

static void cancel_at_entry(const char *what)
{
	pthread_t t;
	void *ret = NULL;
	pthread_create(&t, NULL, at_entry, (void *)what);
	pthread_join(t, &ret);
	printf("%s: cancelled %s\n", what, ret == PTHREAD_CANCELED ? "yes" : "no");
}

static void cancel_one(const char *what, void *(*fn)(void *), bool wait_flag_2)
{
	pthread_t t;
	void *ret = NULL;
	flag = 0;
	uint64_t start = now_ns();
	pthread_create(&t, NULL, fn, NULL);
	while (!flag)
		sched_yield();
	usleep(500);
	pthread_cancel(t);
	if (wait_flag_2)
		flag = 2;
	pthread_join(t, &ret);
	printf("%s: cancelled %s, within 1 s: %s\n", what, ret == PTHREAD_CANCELED ? "yes" : "no",
	       now_ns() - start < 1000000000 ? "yes" : "no");
}

static int check_cancel(void)
{
	sem_init(&sem, 0, 0);
	cancel_one("cond_wait", cond_waiter, false);
	int r = pthread_mutex_trylock(&lock);
	printf("the mutex is free again: %s\n", r == 0 ? "yes" : "no");
	if (!r)
		pthread_mutex_unlock(&lock);
	cancel_one("sleep", sleeper, false);
	cancel_one("sem_wait", sem_waiter, false);
	cancel_one("deferred", deferred, true);
	cancel_one("accept", acceptor, false);
	cancel_at_entry("open");
	cancel_at_entry("openat");
	cancel_at_entry("connect");
	printf("setcancelstate 7: %s\n", pthread_setcancelstate(7, NULL) == EINVAL ? "EINVAL" : "?");
	return 0;
}

/* --- signal -------------------------------------------------------------------------------- */

static volatile int caught[32];

static void on_signal(int sig)
{
	caught[sig]++;
}

static int check_signal(void)
{
	signal(SIGUSR1, on_signal);
	raise(SIGUSR1);
	printf("raise SIGUSR1: handler ran %d time(s)\n", caught[SIGUSR1]);
	signal(SIGUSR2, on_signal);
	kill(getpid(), SIGUSR2);
	for (int i = 0; i < 100000 && !caught[SIGUSR2]; i++)
		sched_yield();
	printf("kill SIGUSR2 to itself: handler ran %d time(s)\n", caught[SIGUSR2]);
	signal(SIGTERM, SIG_IGN);
	raise(SIGTERM);
	printf("SIGTERM ignored: still here\n");
	void (*old)(int) = signal(SIGUSR1, SIG_DFL);
	printf("signal returns the old handler: %s\n", old == on_signal ? "yes" : "no");
	printf("signal(SIGKILL): %s\n", signal(SIGKILL, on_signal) == SIG_ERR && errno == EINVAL ? "EINVAL" : "?");
	return 0;
}

/* --- spawn --------------------------------------------------------------------------------- */

static void report(const char *what, pid_t pid, pid_t waited, int status)
{
	printf("%s: pid > 0: %s, waited for it: %s, exit status %d\n", what, pid > 0 ? "yes" : "no",
	       waited == pid ? "yes" : "no", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static int check_spawn(const char *program)
{
	char *argv[] = { (char *)program, "7", NULL };
	int status = 0;
	pid_t pid = fork();
	if (pid == 0) {
		execv(program, argv);
		_exit(127);
	}
	pid_t waited = waitpid(pid, &status, 0);
	report("fork and exec", pid, waited, status);

	pid = fork();
	if (pid == 0) {
		char *missing[] = { "/no/such/program", NULL };
		execv(missing[0], missing);
		_exit(errno == ENOENT ? 42 : 43);
	}
	waited = waitpid(pid, &status, 0);
	report("fork, exec fails with ENOENT, _exit", pid, waited, status);

	pid = -1;
	int r = posix_spawn(&pid, program, NULL, NULL, argv, environ);
	waited = r == 0 ? wait(&status) : -1;
	report("posix_spawn", pid, waited, status);
	return 0;
}

/* --- spawnfd: the new program's descriptors -------------------------------------------- */

static void show_file(const char *what, const char *path)
{
	char buf[256];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof buf - 1);
	if (fd >= 0)
		close(fd);
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n < 0 ? 0 : n] = '\0';
	printf("%s: the file holds \"%s\"\n", what, buf);
}

static void spawned(const char *what, int r, pid_t pid)
{
	int status = 0;
	pid_t waited = r == 0 ? waitpid(pid, &status, 0) : -1;
	printf("%s: posix_spawn %s, waited %s, exit status %d\n", what, r ? strerror(r) : "ok",
	       waited == pid ? "yes" : "no", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static int check_spawnfd(const char *echo, const char *path)
{
	posix_spawn_file_actions_t fa;
	pid_t pid = -1;
	char *words1[] = { (char *)echo, "opened", "by", "addopen", NULL };
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int r = posix_spawn(&pid, echo, &fa, NULL, words1, environ);
	spawned("addopen", r, pid);
	posix_spawn_file_actions_destroy(&fa);
	show_file("addopen", path);

	int fd = open(path, O_WRONLY | O_TRUNC);
	char *words2[] = { (char *)echo, "dup2", "then", "close", NULL };
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 1);
	posix_spawn_file_actions_addclose(&fa, fd);
	posix_spawn_file_actions_addclose(&fa, 100); /* not open: no error */
	r = posix_spawn(&pid, echo, &fa, NULL, words2, environ);
	spawned("adddup2", r, pid);
	posix_spawn_file_actions_destroy(&fa);
	printf("adddup2: the parent's descriptor is still open: %s\n", fcntl(fd, F_GETFD) >= 0 ? "yes" : "no");
	close(fd);
	show_file("adddup2", path);

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 3, path, O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 3, 1);
	posix_spawn_file_actions_addopen(&fa, 4, "/no/such/dir/file", O_RDONLY, 0);
	r = posix_spawn(&pid, echo, &fa, NULL, words1, environ);
	spawned("addopen of a missing file", r, pid);
	posix_spawn_file_actions_destroy(&fa);
	int status;
	printf("no child is left: %s\n", wait(&status) == -1 && errno == ECHILD ? "yes" : "no");
	printf("posix_spawn_file_actions_adddup2(-1): %s\n",
	       posix_spawn_file_actions_adddup2(&fa, -1, 1) == EBADF ? "EBADF" : "?");

	char *words3[] = { (char *)echo, "from", "a", "fork", "child", NULL };
	pid = fork();
	if (pid == 0) {
		int f = open(path, O_WRONLY | O_TRUNC);
		if (f < 0 || dup2(f, 1) != 1 || close(f) != 0)
			_exit(99);
		execv(echo, words3);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	printf("fork: exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	show_file("fork", path);
	int probe = open(path, O_RDONLY);
	printf("fork: the parent's stdout is its own; its lowest free descriptor is %d\n", probe);
	close(probe);
	int copy = dup(1);
	printf("dup(1) in the parent: %d; dup2 onto 7: %d\n", copy, dup2(copy, 7));
	close(copy);
	close(7);
	return 0;
}

/* --- spawnattr: posix_spawn's attributes; sigstate: what a new program starts with --------- */

static void print_set(const char *what, bool (*in)(int sig, void *arg), void *arg)
{
	printf(" %s:", what);
	int n = 0;
	for (int sig = 1; sig < 32; sig++)
		if (in(sig, arg)) {
			printf(" %d", sig);
			n++;
		}
	if (!n)
		printf(" none");
}

static bool in_set(int sig, void *set)
{
	return sigismember(set, sig) == 1;
}

static bool ignored(int sig, void *arg)
{
	(void)arg;
	struct sigaction old;
	return sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN;
}

static int check_sigstate(const char *what)
{
	sigset_t mask;
	sigprocmask(SIG_SETMASK, NULL, &mask);
	printf("%s: the new program starts with", what);
	print_set("blocked", in_set, &mask);
	print_set("ignored", ignored, NULL);
	printf("\n");
	return 0;
}

/* What the kernel holds, read before any signal call: /proc/self/status's SigBlk and SigIgn
 * (a Linux program's; parlib's signals live in user space), then what libc says. */
static int check_procsigstate(const char *what)
{
	char text[4096];
	int fd = open("/proc/self/status", O_RDONLY), n = 0, r;
	while (fd >= 0 && n < (int)sizeof text - 1 && (r = read(fd, text + n, sizeof text - 1 - n)) > 0)
		n += r;
	text[n] = 0;
	if (fd >= 0)
		close(fd);
	printf("%s: /proc/self/status says", what);
	for (char *line = text; *line; line += strcspn(line, "\n") + (line[strcspn(line, "\n")] != 0))
		if (!strncmp(line, "SigBlk:", 7) || !strncmp(line, "SigIgn:", 7))
			printf(" %.*s", (int)strcspn(line, "\n"), line);
	printf("%s\n", fd >= 0 ? "" : " nothing (no /proc)");
	return check_sigstate(what);
}

/* The program the spawns below run: SELF with child_mode ("sigstate" or "procsigstate"). */
static const char *child_mode = "sigstate";

static void spawn_sigstate(const char *self, const char *what, const posix_spawnattr_t *attr)
{
	char *argv[] = { (char *)self, (char *)child_mode, (char *)what, NULL };
	pid_t pid = -1;
	int status = 0, r = posix_spawn(&pid, self, NULL, attr, argv, environ);
	pid_t waited = r == 0 ? waitpid(pid, &status, 0) : -1;
	if (r || waited != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		printf("%s: posix_spawn %s, exit status %d\n", what, r ? strerror(r) : "ok",
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static void on_sigint(int sig)
{
	(void)sig;
}

static int check_spawnattr(const char *self)
{
	posix_spawnattr_t attr;
	short flags = -1;
	pid_t pgroup = -1;
	sigset_t set;
	posix_spawnattr_init(&attr);
	posix_spawnattr_getflags(&attr, &flags);
	posix_spawnattr_getpgroup(&attr, &pgroup);
	printf("a new attribute object: flags %d, pgroup %d\n", flags, pgroup);
	int r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_RESETIDS);
	posix_spawnattr_getflags(&attr, &flags);
	printf("setflags(SETSIGMASK|SETSIGDEF|RESETIDS): %d, getflags %d\n", r, flags);
	r = posix_spawnattr_setflags(&attr, 0x100);
	posix_spawnattr_getflags(&attr, &flags);
	printf("setflags(0x100): %s, flags stay %d\n", r == EINVAL ? "EINVAL" : "?", flags);
	posix_spawnattr_setpgroup(&attr, 42);
	posix_spawnattr_getpgroup(&attr, &pgroup);
	printf("setpgroup(42): getpgroup %d\n", pgroup);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	posix_spawnattr_setsigmask(&attr, &set);
	sigemptyset(&set);
	posix_spawnattr_getsigmask(&attr, &set);
	printf("setsigmask(SIGHUP, SIGQUIT): getsigmask has SIGHUP %d, SIGQUIT %d, SIGINT %d\n",
	       sigismember(&set, SIGHUP), sigismember(&set, SIGQUIT), sigismember(&set, SIGINT));
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	posix_spawnattr_setsigdefault(&attr, &set);
	sigemptyset(&set);
	posix_spawnattr_getsigdefault(&attr, &set);
	printf("setsigdefault(SIGUSR2): getsigdefault has SIGUSR2 %d, SIGTERM %d\n",
	       sigismember(&set, SIGUSR2), sigismember(&set, SIGTERM));
	posix_spawnattr_destroy(&attr);

	/* what exec keeps: the mask and ignored signals; a handled signal goes back to default */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, on_sigint);
	spawn_sigstate(self, "no attributes", NULL);

	posix_spawnattr_init(&attr);
	spawn_sigstate(self, "an attribute object with no flags", &attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	posix_spawnattr_setsigmask(&attr, &set);
	spawn_sigstate(self, "SETSIGMASK(SIGHUP, SIGQUIT)", &attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGINT);
	posix_spawnattr_setsigdefault(&attr, &set);
	spawn_sigstate(self, "SETSIGDEF(SIGUSR2, SIGINT)", &attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	sigemptyset(&set);
	posix_spawnattr_setsigmask(&attr, &set);
	sigfillset(&set);
	posix_spawnattr_setsigdefault(&attr, &set);
	spawn_sigstate(self, "SETSIGMASK(none) and SETSIGDEF(all)", &attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_RESETIDS);
	spawn_sigstate(self, "RESETIDS", &attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSCHEDPARAM | POSIX_SPAWN_SETSCHEDULER);
	spawn_sigstate(self, "SETSCHEDPARAM|SETSCHEDULER (musl ignores them)", &attr);
	posix_spawnattr_destroy(&attr);

	int status;
	pid_t pid = fork();
	if (pid == 0) {
		char *args[] = { (char *)self, (char *)child_mode, "fork and exec", NULL };
		execv(self, args);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	printf("the parent's own: SIGINT handled %s, SIGUSR1 blocked %s\n",
	       ({ struct sigaction a; sigaction(SIGINT, NULL, &a); a.sa_handler == on_sigint ? "yes" : "no"; }),
	       ({ sigset_t m; pthread_sigmask(SIG_SETMASK, NULL, &m); sigismember(&m, SIGUSR1) ? "yes" : "no"; }));
	return 0;
}

/* --- jobs: process groups and sessions ------------------------------------------------------ */

static const char *job_err(long r)
{
	if (r >= 0)
		return "ok";
	switch (errno) {
	case EPERM:
		return "EPERM";
	case ESRCH:
		return "ESRCH";
	case EACCES:
		return "EACCES";
	case EINVAL:
		return "EINVAL";
	}
	return strerror(errno);
}

static const char *yes(bool b)
{
	return b ? "yes" : "no";
}

/* jobwait: wait for SIGUSR1 (blocked since the caller's exec) and exit with its number. */
static int check_jobwait(void)
{
	sigset_t usr1;
	int sig = 0;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigwait(&usr1, &sig);
	return sig;
}

/* jobsid HOW PGRP: a child in a session of its own (posix_spawn's SETSID, or setsid in a fork
 * child); PGRP is its parent's group, in the parent's session. */
static int check_jobsid(const char *how, const char *pgrp)
{
	pid_t me = getpid();
	printf("%s: leads its session %s and its group %s\n", how, yes(getsid(0) == me), yes(getpgrp() == me));
	printf("%s: setsid again: %s; setpgid(0, 0): %s; setpgid(0, the parent's group): %s\n", how,
	       job_err(setsid()), job_err(setpgid(0, 0)), job_err(setpgid(0, atoi(pgrp))));
	return 0;
}

static pid_t spawn_job(const char *self, short flags, pid_t pgroup, char *mode, char *arg1, char *arg2)
{
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, flags);
	posix_spawnattr_setpgroup(&attr, pgroup);
	char *argv[] = { (char *)self, mode, arg1, arg2, NULL };
	pid_t pid = -1;
	int r = posix_spawn(&pid, self, NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (r)
		printf("%s %s: posix_spawn %s\n", mode, arg1, strerror(r));
	return r ? -1 : pid;
}

static void reap(const char *what, pid_t pid)
{
	int status = 0;
	pid_t got = waitpid(pid, &status, 0);
	printf("%s: %s, %s %d\n", what, got == pid ? "reaped" : "not reaped",
	       WIFEXITED(status) ? "exit status" : "killed by", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* Groups and sessions, by posix_spawn's SETPGROUP and SETSID and by a fork child's setpgid and
 * setsid (a shell's way: the parent's setpgid too); kill(-pgid) and killpg reach the group. */
static int check_jobs(const char *self)
{
	pid_t me = getpid(), pgrp = getpgrp(), sid = getsid(0);
	printf("getpgrp is getpgid(0) %s and getpgid(getpid()) %s; getsid(0) is getsid(getpid()) %s\n",
	       yes(pgrp == getpgid(0)), yes(pgrp == getpgid(me)), yes(sid == getsid(me)));
	printf("setpgid(0, -1): %s; killpg(-1, 0): %s\n", job_err(setpgid(0, -1)), job_err(killpg(-1, 0)));
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL); /* the children start with it blocked: no race */

	pid_t a = spawn_job(self, POSIX_SPAWN_SETPGROUP, 0, "jobwait", "a", NULL);
	pid_t b = spawn_job(self, POSIX_SPAWN_SETPGROUP, a, "jobwait", "b", NULL);
	printf("SETPGROUP: the first child leads a group %s, the second is in it %s, both in the caller's "
	       "session %s, the caller's group stays %s\n", yes(getpgid(a) == a), yes(getpgid(b) == a),
	       yes(getsid(a) == sid && getsid(b) == sid), yes(getpgrp() == pgrp));
	printf("setpgid of a child that ran its program: %s\n", job_err(setpgid(b, b)));
	printf("kill(-group, SIGUSR1): %s\n", job_err(kill(-a, SIGUSR1)));
	reap("the group's leader", a);
	reap("the other member", b);
	printf("the group gone: kill(-group, 0): %s, getpgid(its leader): %s, getsid: %s, setpgid: %s\n",
	       job_err(kill(-a, 0)), job_err(getpgid(a)), job_err(getsid(a)), job_err(setpgid(a, a)));

	pid_t c = fork();
	if (c == 0) {
		setpgid(0, 0);
		char *args[] = { (char *)self, "jobwait", "c", NULL };
		execv(self, args);
		_exit(127);
	}
	setpgid(c, c); /* EACCES if it ran its program already: either way it leads a group now */
	printf("fork: the child leads a group %s, in the caller's session %s\n", yes(getpgid(c) == c),
	       yes(getsid(c) == sid));
	printf("killpg(its group, SIGUSR1): %s\n", job_err(killpg(c, SIGUSR1)));
	reap("the fork child", c);

	char mine[16];
	snprintf(mine, sizeof mine, "%d", (int)pgrp);
	pid_t d = spawn_job(self, POSIX_SPAWN_SETSID, 0, "jobsid", "SETSID", mine);
	reap("SETSID", d);
	d = spawn_job(self, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETPGROUP, 0, "jobsid", "SETSID|SETPGROUP", mine);
	if (d > 0) /* a session leader cannot change its group: EPERM, and no program runs */
		reap("SETSID|SETPGROUP", d);
	pid_t e = fork();
	if (e == 0) {
		setsid();
		char *args[] = { (char *)self, "jobsid", "fork and setsid", mine, NULL };
		execv(self, args);
		_exit(127);
	}
	reap("fork and setsid", e);
	return 0;
}

/* --- slice: pthreads that never block or yield share a vcore ----------------------------- */

#define SLICE_THREADS 3
#define SLICE_ROUNDS 4
static volatile int slice_arrived, slice_turn;
static int slice_order[SLICE_THREADS * SLICE_ROUNDS];
static bool slice_locks; /* spin taking a mutex and calling malloc (parlib's locks) */
static pthread_mutex_t slice_mutex = PTHREAD_MUTEX_INITIALIZER;

static int slice_load_turn(void)
{
	if (!slice_locks)
		return __atomic_load_n(&slice_turn, __ATOMIC_SEQ_CST);
	void *p = malloc(64);
	pthread_mutex_lock(&slice_mutex);
	int turn = slice_turn;
	pthread_mutex_unlock(&slice_mutex);
	free(p);
	return turn;
}

/* Spins until every spinner arrived, then takes its turns in order, spinning for each: on one
 * vcore only time slicing lets the others run at all, and every turn needs a switch. */
static void *slice_spinner(void *arg)
{
	int id = (int)(long)arg;
	__atomic_add_fetch(&slice_arrived, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&slice_arrived, __ATOMIC_SEQ_CST) < SLICE_THREADS)
		;
	for (int r = 0; r < SLICE_ROUNDS; r++) {
		int turn;
		while ((turn = slice_load_turn()) % SLICE_THREADS != id)
			;
		slice_order[turn] = id;
		__atomic_store_n(&slice_turn, turn + 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static int check_slice(bool locks)
{
	slice_locks = locks;
	pthread_t t[SLICE_THREADS];
	for (long i = 0; i < SLICE_THREADS; i++)
		if (pthread_create(&t[i], NULL, slice_spinner, (void *)i))
			return 1;
	for (int i = 0; i < SLICE_THREADS; i++)
		pthread_join(t[i], NULL);
	printf("slice: %d spinning pthreads arrived\n", slice_arrived);
	printf("slice: %d turns, taken by", slice_turn);
	for (int i = 0; i < SLICE_THREADS * SLICE_ROUNDS; i++)
		printf(" %d", slice_order[i]);
	printf("\n");
	return 0;
}

/* --- tls ------------------------------------------------------------------------------------ */

#define TLS_WORKERS 4
static __thread int tls_counter = 1000;                        /* .tdata */
static _Thread_local char tls_name[24];                        /* .tbss */
static __thread uint64_t tls_sums[64];                         /* .tbss, an array */
static __thread int tls_scale = 3;
static __thread long tls_aligned __attribute__((aligned(64))) = 7; /* the segment's alignment */
static char tls_result[TLS_WORKERS + 1][128];
static void *tls_addr[TLS_WORKERS + 1];

static void tls_report(int id)
{
	uint64_t sum = 0;
	for (int i = 0; i < 64; i++)
		sum += tls_sums[i];
	snprintf(tls_result[id], sizeof tls_result[id],
	         "%s: counter %d sum %llu scale %d aligned %ld at a 64-byte boundary %d", tls_name,
	         tls_counter, (unsigned long long)sum, tls_scale, tls_aligned,
	         (int)((uintptr_t)&tls_aligned % 64 == 0));
	tls_addr[id] = &tls_counter;
}

static void *tls_worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	snprintf(tls_name, sizeof tls_name, "worker %d from %d", id, tls_counter);
	tls_scale *= id;
	for (int i = 0; i < 256; i++) {
		tls_counter += id;
		tls_sums[i % 64] += (uint64_t)id * i;
		for (int k = 0; k < 400; k++) /* long enough for a sleeper's alarm to interrupt it */
			tls_sums[(i + k) % 64] += (uint64_t)(k & id);
		tls_aligned++;
		if (i % 16 == 0)
			sched_yield();
		if (i % 64 == id)
			usleep(500); /* its vcore runs the others meanwhile, and a notification ends it */
	}
	tls_report(id);
	return NULL;
}

static int check_tls(void)
{
	tls_counter = 5; /* the main thread's own: the workers start from the initial 1000 */
	strcpy(tls_name, "main");
	pthread_t t[TLS_WORKERS];
	for (int i = 0; i < TLS_WORKERS; i++)
		pthread_create(&t[i], NULL, tls_worker, (void *)(intptr_t)(i + 1));
	for (int i = 0; i < TLS_WORKERS; i++)
		pthread_join(t[i], NULL);
	tls_report(0);
	int distinct = 1;
	for (int i = 0; i <= TLS_WORKERS; i++) {
		printf("%s\n", tls_result[i]);
		for (int j = 0; j < i; j++)
			distinct &= tls_addr[i] != tls_addr[j];
	}
	printf("a copy per thread: %d\n", distinct);
	return 0;
}

/* --- float ---------------------------------------------------------------------------------- */

static const double float_values[] = {
	0.0, -0.0, 1.0, -1.0, 0.5, 1.5, 2.5, 0.125, 0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, 3.14159265358979,
	2.718281828459045, 100.0, 123456.789, 1e6, 999999.5, 9.9999995, 0.000123456, 1e-5, 0.00001234,
	1e15, 1e16, 123456789012345678.0, 1e21, 1e100, 1.7976931348623157e308, 2.2250738585072014e-308,
	4.9e-324, 0.05, 0.15, 0.25, 0.35, 0.45, 1e-300, 6.02214076e23, -273.15, 42.0,
};

static const char *const float_formats[] = {
	"%f", "%e", "%g", "%F", "%E", "%G", "%.0f", "%.1f", "%.2f", "%.3e", "%.0e", "%.10g", "%.17g",
	"%.1g", "%.0g", "%#g", "%#.0f", "%#.0e", "%+f", "% e", "%12.4f", "%-12.3e|", "%012.3f",
	"%+015.6g", "%.20f", "%.30e", "%5.1f", "%-+10.2g|",
};

static char float_lines[4][8192];

static void print_floats(char *out, size_t size, int part)
{
	size_t len = 0;
	for (size_t f = 0; f < sizeof float_formats / sizeof *float_formats; f++) {
		if ((int)(f % 4) != part)
			continue;
		for (size_t v = 0; v < sizeof float_values / sizeof *float_values; v++) {
			len += snprintf(out + len, size - len, "%s ", float_formats[f]);
			len += snprintf(out + len, size - len, float_formats[f], float_values[v]);
			len += snprintf(out + len, size - len, "%c", v + 1 < sizeof float_values / sizeof *float_values ? ' ' : '\n');
		}
		if (f % 8 == 0)
			sched_yield();
	}
}

static void *float_worker(void *arg)
{
	int part = (int)(intptr_t)arg;
	print_floats(float_lines[part], sizeof float_lines[part], part);
	return NULL;
}

static int check_float(void)
{
	double inf = 1.0 / 0.0, nan = 0.0 / 0.0;
	printf("%f %e %g %F %E %G %5.1f|%-6f|%06f\n", inf, -inf, inf, inf, -inf, inf, inf, -inf, inf);
	printf("%f %e %g %F %E %G\n", nan, nan, nan, nan, nan, nan);
	printf("mixed: %d %.3f %s %g %ld %e %c %.2f %f %f %f %f %f %f %f\n", 7, 2.5, "x", 0.1, 123456789L,
	       1e-10, 'z', -0.005, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0);
	fprintf(stdout, "fprintf %.4f %g\n", 3.14159265, 1e-7);
	char buf[64], small[64];
	sprintf(buf, "%.3g|%8.2e", 1234.5678, 0.000314);
	volatile size_t room = 5; /* not a constant to the compiler: the cut is the point */
	int full = snprintf(small, room, "%f", 3.0);
	printf("sprintf %s; snprintf cut to %s returns %d\n", buf, small, full);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, float_worker, (void *)(intptr_t)i);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		fputs(float_lines[i], stdout);
	}
	return 0;
}

/* --- hexfloat ------------------------------------------------------------------------------ */

static const double hex_values[] = {
	0x1.08p0, 0x1.18p0, 0x1.28p0, 0x1.0000000000008p0, 0x1.0000000000018p0, 0x1.fffffffffffffp0,
	0x1.f8p0, 0x1.8p-1022, 0x0.0000000000001p-1022, 0x0.8p-1022, 0x0.fffffffffffffp-1022, 0x1p1023,
	0x1.234p-5, 17.0,
};

static const char *const hex_formats[] = {
	"%a", "%A", "%.0a", "%.1a", "%.2a", "%.3a", "%.12a", "%.13a", "%.15a", "%#.0a", "%#a", "%+a",
	"% a", "%20a", "%-20a|", "%020a", "%+025.3A",
};

static int check_hexfloat(void)
{
	double inf = 1.0 / 0.0, nan = 0.0 / 0.0;
	printf("%a %A %10a|%-10A|%010a %a %A\n", inf, -inf, inf, -inf, inf, nan, nan);
	for (size_t f = 0; f < sizeof hex_formats / sizeof *hex_formats; f++) {
		printf("%s", hex_formats[f]);
		for (size_t v = 0; v < sizeof float_values / sizeof *float_values; v++) {
			putchar(' ');
			printf(hex_formats[f], float_values[v]);
		}
		for (size_t v = 0; v < sizeof hex_values / sizeof *hex_values; v++) {
			putchar(' ');
			printf(hex_formats[f], hex_values[v]);
		}
		putchar('\n');
	}
	char buf[64];
	int n = snprintf(buf, sizeof buf, "%.2a|%A", 1.0 / 3, -0.0);
	printf("snprintf %s returns %d\n", buf, n);
	return 0;
}

/* --- ldouble ------------------------------------------------------------------------------- */

static long double ld_from_bits(uint64_t mant, uint16_t sign_exp)
{
	unsigned char b[sizeof(long double)] = { 0 };
	memcpy(b, &mant, 8);
	memcpy(b + 8, &sign_exp, 2);
	long double v;
	memcpy(&v, b, sizeof v);
	return v;
}

/* The format with L before its conversion: "%-12.3e|" -> "%-12.3Le|". */
static const char *with_l(const char *format, char *out)
{
	const char *c = format + 1;
	while (!strchr("aAeEfFgG", *c))
		c++;
	size_t head = (size_t)(c - format);
	memcpy(out, format, head);
	out[head] = 'L';
	strcpy(out + head + 1, c);
	return out;
}

static uint64_t ld_random_state = 0x9e3779b97f4a7c15ull;

static uint64_t ld_random(void)
{
	uint64_t x = ld_random_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return ld_random_state = x;
}

/* A random 80-bit pattern: any sign and exponent (or one within spread of 1.0), the integer bit
 * set in seven of eight (the rest are unnormals, zeros, subnormals or pseudo-nans). */
static long double ld_random_value(int spread)
{
	uint64_t r = ld_random(), mant = ld_random();
	uint16_t sign_exp = (uint16_t)r;
	if (spread)
		sign_exp = (uint16_t)((sign_exp & 0x8000) | (16383 + (int)(r >> 16) % (2 * spread + 1) - spread));
	if ((r >> 40) % 8)
		mant |= 1ull << 63;
	return ld_from_bits(mant, sign_exp);
}

/* One line per format, formatted with snprintf and written at once (a write per value would
 * make the check a system call benchmark). */
static void print_ld_line(const char *format, const long double *values, size_t n)
{
	static char line[1 << 17];
	char lf[32];
	with_l(format, lf);
	size_t len = (size_t)snprintf(line, sizeof line, "%s", lf);
	for (size_t v = 0; v < n && len < sizeof line; v++) {
		line[len++] = ' ';
		len += (size_t)snprintf(line + len, sizeof line - len, lf, values[v]);
	}
	if (len < sizeof line)
		printf("%s\n", line);
	else
		printf("%s: line too long\n", lf);
}

static int check_ldouble(void)
{
	long double edge[] = {
		3.14159265358979323846264338327950288L, 1.0L / 3, 2.0L / 3, 0.1L, 1e-5L, 0x1.fffffffffffffffep0L,
		0x1.0000000000000001p0L, 0x1.00000000000000018p0L, 0x1.8000000000000008p0L, 1e4000L, 1e-4000L,
		LDBL_MAX, -LDBL_MAX, LDBL_MIN, LDBL_TRUE_MIN, -LDBL_TRUE_MIN, LDBL_EPSILON, 0x1p-16400L,
		0x0.fffffffffffffffep-16382L, 1e308L * 1e10L, 2.5L, 0.125L, 999999.5L, 9.9999995L,
		ld_from_bits(0x8000000000000001ull, 0), /* pseudo-denormals: the x87 reads exponent 1 */
		ld_from_bits(0xc000000000000000ull, 0x8000),
		ld_from_bits(0x4000000000000000ull, 0x3fff), /* an unnormal */
		ld_from_bits(0, 0x7fff), /* a pseudo-infinity */
		ld_from_bits(0x4000000000000000ull, 0xffff), /* a pseudo-nan */
	};
	size_t n_edge = sizeof edge / sizeof *edge;
	long double inf = ld_from_bits(1ull << 63, 0x7fff), nan = ld_from_bits(3ull << 62, 0x7fff);
	printf("%Lf %Le %Lg %LF %LE %LG %5.1Lf|%-6Lf|%06Lf\n", inf, -inf, inf, inf, -inf, inf, inf, -inf, inf);
	printf("%Lf %Le %Lg %La %LA %+Lf % Le\n", nan, -nan, nan, nan, -nan, nan, nan);
	printf("%La %LA %10La|%-10LA|%010La\n", inf, -inf, inf, -inf, inf);
	printf("mixed: %d %.3Lf %s %g %ld %Le %c %.2f %Lf %f %La %a\n", 7, 2.5L, "x", 0.1, 123456789L,
	       1e-10L, 'z', -0.005, 1.0L, 2.0, 3.0L, 4.0);
	char buf[64];
	int n = snprintf(buf, sizeof buf, "%.2La|%LA|%.3Lg", 1.0L / 3, -0.0L, 1e-4000L);
	printf("snprintf %s returns %d\n", buf, n);
	size_t n_float = sizeof float_values / sizeof *float_values;
	long double values[sizeof float_values / sizeof *float_values + sizeof hex_values / sizeof *hex_values];
	for (size_t v = 0; v < n_float; v++)
		values[v] = float_values[v];
	for (size_t v = 0; v < sizeof hex_values / sizeof *hex_values; v++)
		values[n_float + v] = hex_values[v];
	size_t n_values = sizeof values / sizeof *values;
	/* the smallest subnormals: exact expansions of 11,500-odd digits, of which a conversion
	 * needs its few (and all of them at a precision that long) */
	long double tiny[] = { LDBL_TRUE_MIN, 2 * LDBL_TRUE_MIN, 3 * LDBL_TRUE_MIN, 5 * LDBL_TRUE_MIN,
	                       -7 * LDBL_TRUE_MIN, 0x1.8p-16440L, 0x0.ffffp-16382L, 0x1p-16382L - LDBL_TRUE_MIN };
	size_t n_tiny = sizeof tiny / sizeof *tiny;
	for (size_t f = 0; f < sizeof float_formats / sizeof *float_formats; f++) {
		print_ld_line(float_formats[f], values, n_values);
		print_ld_line(float_formats[f], edge, n_edge);
		print_ld_line(float_formats[f], tiny, n_tiny);
	}
	static const char *const deep[] = { "%.4950Le", "%.16444Lf", "%.16445Lf", "%.16460Lf", "%.11600Lg" };
	for (size_t f = 0; f < sizeof deep / sizeof *deep; f++) /* every digit, rounded at the last */
		for (size_t v = 0; v < 3; v++)
			printf(deep[f], tiny[v]), printf("\n");
	for (size_t f = 0; f < sizeof hex_formats / sizeof *hex_formats; f++) {
		print_ld_line(hex_formats[f], values, n_values);
		print_ld_line(hex_formats[f], edge, n_edge);
	}
	static const char *const more[] = { "%.14a", "%.16a", "%.17a", "%.40f", "%.60e", "%.25g", "%.4e" };
	for (size_t f = 0; f < sizeof more / sizeof *more; f++) {
		print_ld_line(more[f], edge, n_edge);
		print_ld_line(more[f], tiny, n_tiny);
	}
	long double wide[200], near[200];
	for (size_t v = 0; v < 200; v++) {
		wide[v] = ld_random_value(0);
		near[v] = ld_random_value(v % 2 ? 70 : 5000);
	}
	static const char *const any[] = { "%a", "%.0a", "%.3a", "%.13a", "%.15a", "%.0e", "%.18e", "%#.3g", "%.21g" };
	for (size_t f = 0; f < sizeof any / sizeof *any; f++)
		print_ld_line(any[f], wide, 200);
	static const char *const fixed[] = { "%f", "%.0f", "%.30f", "%#.1f", "%+.21g" };
	for (size_t f = 0; f < sizeof fixed / sizeof *fixed; f++)
		print_ld_line(fixed[f], near, 200);
	return 0;
}

/* --- sigmask -------------------------------------------------------------------------------- */

static char sig_log[512];
static volatile int sig_log_len;
static pthread_t sig_worker;

static void sig_note(const char *what)
{
	int n = (int)strlen(what);
	memcpy(sig_log + sig_log_len, what, (size_t)n);
	sig_log_len += n;
}

static void on_usr1_info(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	char line[80];
	snprintf(line, sizeof line, "[usr1 sig %d signo %d in worker %d]", sig, info->si_signo,
	         pthread_equal(pthread_self(), sig_worker));
	sig_note(line);
}

static void on_usr2(int sig)
{
	char line[64];
	snprintf(line, sizeof line, "[usr2 %d in worker %d]", sig, pthread_equal(pthread_self(), sig_worker));
	sig_note(line);
}

static void on_usr1_masking(int sig)
{
	(void)sig;
	sig_note("[usr1 begins, raises usr2]");
	raise(SIGUSR2); /* blocked by sa_mask: runs after this handler */
	sig_note("[usr1 ends]");
}

static sem_t sig_go;

static void *sig_unblocker(void *arg)
{
	(void)arg;
	sigset_t set, mine;
	pthread_sigmask(SIG_SETMASK, NULL, &mine);
	printf("worker inherited usr2 blocked: %d\n", sigismember(&mine, SIGUSR2));
	sem_wait(&sig_go);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL); /* the pending SIGUSR2 runs here, in this pthread */
	sig_note("(worker unblocked)");
	return NULL;
}

static int check_sigmask(void)
{
	sigset_t set, old, pend;
	struct sigaction sa = { 0 }, got;
	sa.sa_sigaction = on_usr1_info;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGUSR2, on_usr2);

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	printf("usr1 blocked before: %d\n", sigismember(&old, SIGUSR1));
	raise(SIGUSR1);
	sigpending(&pend);
	printf("raised while blocked, pending: %d, ran: %d\n", sigismember(&pend, SIGUSR1), sig_log_len > 0);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	printf("after unblock: %s\n", sig_log);
	sig_log_len = 0;
	memset(sig_log, 0, sizeof sig_log);
	sigpending(&pend);
	printf("pending now: %d\n", sigismember(&pend, SIGUSR1));

	sigfillset(&set);
	sigprocmask(SIG_SETMASK, &set, &old);
	sigprocmask(SIG_SETMASK, &old, &set);
	printf("fill blocks usr1 %d, not kill %d nor stop %d\n", sigismember(&set, SIGUSR1),
	       sigismember(&set, SIGKILL), sigismember(&set, SIGSTOP));
	printf("sigaction(SIGKILL) fails with EINVAL: %d\n", sigaction(SIGKILL, &sa, NULL) == -1 && errno == EINVAL);
	printf("bad how: %d\n", pthread_sigmask(99, &set, NULL) == EINVAL);

	/* every pthread blocks SIGUSR2 when it comes: pending until the worker unblocks it */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sem_init(&sig_go, 0, 0);
	pthread_create(&sig_worker, NULL, sig_unblocker, NULL);
	usleep(10000);
	kill(getpid(), SIGUSR2);
	usleep(20000);
	sigpending(&pend);
	printf("kill while all block: pending %d, ran %d\n", sigismember(&pend, SIGUSR2), sig_log_len > 0);
	sem_post(&sig_go);
	pthread_join(sig_worker, NULL);
	printf("worker: %s\n", sig_log);
	sig_log_len = 0;
	memset(sig_log, 0, sizeof sig_log);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	/* sa_mask holds SIGUSR2 back while the SIGUSR1 handler runs; SA_RESETHAND restores SIG_DFL */
	sa.sa_handler = on_usr1_masking;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	printf("sa_mask: %s\n", sig_log);
	sigaction(SIGUSR1, NULL, &got);
	printf("reset to SIG_DFL: %d\n", got.sa_handler == SIG_DFL);
	return 0;
}

/* --- sigwait -------------------------------------------------------------------------------- */

static pthread_t sw_thread;
static volatile int sw_stop, sw_handled_in;
static sem_t sw_ack;
static int sw_got[8];

static volatile uintptr_t sw_stack; /* an address on the target pthread's stack */

static void sw_handler(int sig)
{
	char line[64];
	uintptr_t here = (uintptr_t)&line;
	int on_its_stack = here < sw_stack && sw_stack - here < 32 * 1024;
	snprintf(line, sizeof line, "[%d in worker %d on its stack %d]", sig, pthread_equal(pthread_self(), sw_thread),
	         on_its_stack);
	sig_note(line);
	sw_stop = 1;
}

/* Takes SIGUSR1, SIGUSR2 and SIGTERM with sigwait (they are blocked in every pthread). */
static void *sw_waiter(void *arg)
{
	(void)arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	for (int i = 0; i < 4; i++) {
		sigwait(&set, &sw_got[i]);
		sem_post(&sw_ack);
	}
	return NULL;
}

/* A worker starting: where its stack is, sig (if any) unblocked, and the main thread told. */
static void sw_start(int sig)
{
	int marker;
	sw_stack = (uintptr_t)&marker;
	sigset_t set;
	sigemptyset(&set);
	if (sig)
		sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	sem_post(&sw_ack);
}

/* Unblocks SIGUSR1 and computes (arg NULL) or sleeps until its handler says stop. */
static void *sw_spinner(void *arg)
{
	sw_start(SIGUSR1);
	volatile uint64_t work = 0;
	while (!sw_stop) {
		if (arg)
			usleep(2000);
		work++;
	}
	return NULL;
}

static void *sw_killer(void *arg)
{
	(void)arg;
	usleep(5000);
	kill(getpid(), SIGUSR1);
	return NULL;
}

static void *sw_pauser(void *arg)
{
	(void)arg;
	sw_start(SIGUSR2);
	int r = pause();
	sw_handled_in = r == -1 && errno == EINTR;
	return NULL;
}

/* pthread_kill to a pthread that blocks the signal: pending for it alone. */
static void *sw_blocker(void *arg)
{
	(void)arg;
	sw_start(0);
	sem_wait(&sig_go);
	sigset_t pend, set;
	sigpending(&pend);
	printf("blocker sees usr2 pending: %d\n", sigismember(&pend, SIGUSR2));
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	printf("blocker after unblock: %s\n", sig_log);
	return NULL;
}

static void sw_reset(void)
{
	sw_stop = 0;
	sig_log_len = 0;
	memset(sig_log, 0, sizeof sig_log);
}

static int check_sigwait(void)
{
	sigset_t set, pend;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGUSR1, sw_handler);
	signal(SIGUSR2, sw_handler);
	sem_init(&sw_ack, 0, 0);
	sem_init(&sig_go, 0, 0);

	/* sigwait takes kill'd and pthread_kill'd signals, default action or not */
	pthread_create(&sw_thread, NULL, sw_waiter, NULL);
	kill(getpid(), SIGUSR1);
	sem_wait(&sw_ack);
	pthread_kill(sw_thread, SIGUSR2);
	sem_wait(&sw_ack);
	kill(getpid(), SIGTERM); /* its default action would end the process */
	sem_wait(&sw_ack);
	raise(SIGUSR2); /* pending for main, which blocks it: not the waiter's */
	sigpending(&pend);
	printf("main's raise pending for main: %d\n", sigismember(&pend, SIGUSR2));
	kill(getpid(), SIGUSR1);
	sem_wait(&sw_ack);
	pthread_join(sw_thread, NULL);
	printf("sigwait got %d %d %d %d, handlers ran: %d\n", sw_got[0], sw_got[1], sw_got[2], sw_got[3], sig_log_len > 0);
	int sig = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigwait(&set, &sig);
	printf("main's own sigwait takes its pending %d\n", sig);

	/* sigtimedwait: nothing comes */
	struct timespec ts = { 0, 5000000 };
	siginfo_t info;
	errno = 0;
	int r = sigtimedwait(&set, &info, &ts);
	printf("sigtimedwait with nothing pending: %d errno EAGAIN %d\n", r, errno == EAGAIN);
	kill(getpid(), SIGUSR2);
	r = sigtimedwait(&set, &info, &ts);
	printf("sigtimedwait: %d signo %d code user %d\n", r, info.si_signo, info.si_code == SI_USER);

	/* a kill'd signal runs on the one pthread that does not block it, while it computes */
	sw_reset();
	pthread_create(&sw_thread, NULL, sw_spinner, NULL);
	sem_wait(&sw_ack);
	kill(getpid(), SIGUSR1);
	pthread_join(sw_thread, NULL);
	printf("computing pthread: %s\n", sig_log);

	/* ... while it sleeps */
	sw_reset();
	pthread_create(&sw_thread, NULL, sw_spinner, "sleep");
	sem_wait(&sw_ack);
	usleep(5000);
	kill(getpid(), SIGUSR1);
	pthread_join(sw_thread, NULL);
	printf("sleeping pthread: %s\n", sig_log);

	/* pthread_kill to a computing pthread */
	sw_reset();
	pthread_create(&sw_thread, NULL, sw_spinner, NULL);
	sem_wait(&sw_ack);
	pthread_kill(sw_thread, SIGUSR1);
	pthread_join(sw_thread, NULL);
	printf("pthread_kill'd computing pthread: %s\n", sig_log);

	/* pause returns once a handler ran in the pauser */
	sw_reset();
	pthread_create(&sw_thread, NULL, sw_pauser, NULL);
	sem_wait(&sw_ack);
	usleep(5000);
	pthread_kill(sw_thread, SIGUSR2);
	pthread_join(sw_thread, NULL);
	printf("pause: %s returned -1 EINTR %d\n", sig_log, sw_handled_in);

	/* pthread_kill to a pthread that blocks the signal: pending for it alone */
	sw_reset();
	pthread_create(&sw_thread, NULL, sw_blocker, NULL);
	sem_wait(&sw_ack);
	pthread_kill(sw_thread, SIGUSR2);
	sigpending(&pend);
	printf("main sees usr2 pending: %d\n", sigismember(&pend, SIGUSR2));
	sem_post(&sig_go);
	pthread_join(sw_thread, NULL);

	/* sigsuspend: main waits with nothing blocked; a pthread that blocks usr1 kills the process */
	sw_reset();
	int marker;
	sw_stack = (uintptr_t)&marker;
	sw_thread = pthread_self();
	pthread_t killer;
	pthread_create(&killer, NULL, sw_killer, NULL);
	sigemptyset(&set);
	errno = 0;
	r = sigsuspend(&set);
	int eintr = errno == EINTR;
	pthread_join(killer, NULL);
	pthread_sigmask(SIG_SETMASK, NULL, &set);
	printf("sigsuspend: %d EINTR %d %s, usr1 blocked again %d\n", r, eintr, sig_log, sigismember(&set, SIGUSR1));
	return 0;
}

/* --- eintr --------------------------------------------------------------------------------- */

static pthread_t intr_target;
static volatile int intr_ran, intr_holding, intr_saw_holding, intr_pred, intr_saw_pred = -1;
static pthread_mutex_t intr_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t intr_cv = PTHREAD_COND_INITIALIZER;
static int intr_peer = -1;

static void on_intr(int sig)
{
	(void)sig;
	intr_ran++;
	intr_saw_holding = intr_holding;
	intr_saw_pred = intr_pred;
}

static void intr_action(bool restart)
{
	struct sigaction sa = { .sa_handler = on_intr, .sa_flags = restart ? SA_RESTART : 0 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	intr_ran = 0;
}

enum { KICK_ONLY, KICK_THEN_WRITE, KICK_THEN_COND, KICK_HOLDING, KICK_THEN_POST };
static sem_t intr_sem;

/* Signals the main thread 5 ms in (it waits by then), then maybe ends its wait 5 ms later. */
static void *intr_kicker(void *arg)
{
	long what = (long)arg;
	if (what == KICK_HOLDING) {
		pthread_mutex_lock(&intr_lock);
		intr_holding = 1;
	}
	usleep(5000);
	pthread_kill(intr_target, SIGUSR1);
	usleep(5000);
	if (what == KICK_THEN_WRITE) {
		write(intr_peer, "x", 1);
	} else if (what == KICK_THEN_POST) {
		sem_post(&intr_sem);
	} else if (what == KICK_THEN_COND) {
		pthread_mutex_lock(&intr_lock);
		intr_pred = 1;
		pthread_cond_signal(&intr_cv);
		pthread_mutex_unlock(&intr_lock);
	} else if (what == KICK_HOLDING) {
		intr_holding = 0;
		pthread_mutex_unlock(&intr_lock);
	}
	return NULL;
}

static pthread_t kick(long what)
{
	pthread_t t;
	pthread_create(&t, NULL, intr_kicker, (void *)what);
	return t;
}

static const char *err_name(int r)
{
	return r == 0 ? "0" : errno == EINTR ? "EINTR" : strerror(errno);
}

/* A TCP listener on the loopback at *port or, when another program holds that one (natively: an
 * earlier run's connection may linger on it), at one of the next 64 ports; -1 (and a message)
 * when none is free. */
static int listen_loopback(int *port)
{
	for (int tries = 0; tries < 64; tries++, (*port)++) {
		int l = socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;
		if (l < 0)
			break;
		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(*port),
					 .sin_addr = { htonl(INADDR_LOOPBACK) } };
		if (bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 4) == 0)
			return l;
		close(l);
	}
	perror("listen");
	return -1;
}

static void *intr_dialer(void *arg)
{
	int port = (int)(long)arg;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = { htonl(INADDR_LOOPBACK) } };
	if (connect(s, (struct sockaddr *)&a, sizeof a) < 0)
		perror("connect");
	intr_peer = s;
	return NULL;
}

static int check_eintr(void)
{
	intr_target = pthread_self();
	struct timespec req = { 1, 0 }, rem = { 0, 0 };
	pthread_t t;

	intr_action(false);
	t = kick(KICK_ONLY);
	int r = nanosleep(&req, &rem);
	pthread_join(t, NULL);
	printf("nanosleep(1 s): %d %s, handler ran %d, time left between 0.5 s and 1 s: %s\n", r, err_name(r), intr_ran,
	       r && rem.tv_sec == 0 && rem.tv_nsec > 500000000 ? "yes" : "no");

	intr_action(true);
	t = kick(KICK_ONLY);
	r = nanosleep(&req, &rem);
	pthread_join(t, NULL);
	printf("nanosleep under SA_RESTART: %d %s, handler ran %d\n", r, err_name(r), intr_ran);

	intr_action(false);
	t = kick(KICK_ONLY);
	unsigned left = sleep(3);
	pthread_join(t, NULL);
	printf("sleep(3) returns %u, handler ran %d\n", left, intr_ran);

	intr_action(true);
	t = kick(KICK_ONLY);
	r = usleep(1000000);
	pthread_join(t, NULL);
	printf("usleep(1 s) under SA_RESTART: %d %s, handler ran %d\n", r, err_name(r), intr_ran);

	sem_init(&intr_sem, 0, 0);
	intr_action(false);
	t = kick(KICK_ONLY);
	r = sem_wait(&intr_sem);
	pthread_join(t, NULL);
	printf("sem_wait: %d %s, handler ran %d\n", r, err_name(r), intr_ran);
	intr_action(true);
	t = kick(KICK_THEN_POST);
	r = sem_wait(&intr_sem);
	pthread_join(t, NULL);
	printf("sem_wait under SA_RESTART: %d %s, handler ran %d\n", r, err_name(r), intr_ran);

	/* blocked: it waits for the sleep to end, then runs once unblocked */
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	intr_action(false);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	t = kick(KICK_ONLY);
	struct timespec short_req = { 0, 20000000 };
	r = nanosleep(&short_req, NULL);
	pthread_join(t, NULL);
	int before = intr_ran;
	pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	printf("nanosleep with SIGUSR1 blocked: %d, handler ran %d, after unblocking %d\n", r, before, intr_ran);

	/* a socket read: EINTR, or restarted under SA_RESTART until the peer writes */
	int port = 40000 + getpid() % 20000;
	int l = listen_loopback(&port);
	if (l < 0)
		return 1;
	pthread_create(&t, NULL, intr_dialer, (void *)(long)port);
	int c = accept(l, NULL, NULL);
	pthread_join(t, NULL);
	char buf[8];
	intr_action(false);
	t = kick(KICK_ONLY);
	ssize_t n = read(c, buf, sizeof buf);
	pthread_join(t, NULL);
	printf("read on a socket: %zd %s, handler ran %d\n", n, err_name((int)n), intr_ran);
	intr_action(true);
	t = kick(KICK_THEN_WRITE);
	n = read(c, buf, sizeof buf);
	pthread_join(t, NULL);
	printf("read under SA_RESTART: %zd '%.*s', handler ran %d\n", n, n > 0 ? (int)n : 0, buf, intr_ran);
	close(c);
	close(intr_peer);
	close(l);

	/* a condition wait runs the handler and never returns EINTR */
	intr_action(false);
	pthread_mutex_lock(&intr_lock);
	t = kick(KICK_THEN_COND);
	int eintr = 0;
	while (!intr_pred)
		eintr |= pthread_cond_wait(&intr_cv, &intr_lock) == EINTR;
	pthread_mutex_unlock(&intr_lock);
	pthread_join(t, NULL);
	printf("cond_wait: handler ran %d while waiting (predicate %d then), EINTR %d\n", intr_ran, intr_saw_pred, eintr);

	/* a mutex wait runs the handler while the other holds it, then takes the mutex */
	intr_action(false);
	t = kick(KICK_HOLDING);
	while (!intr_holding)
		sched_yield();
	r = pthread_mutex_lock(&intr_lock);
	printf("mutex_lock: %d, handler ran %d while the other held it: %s\n", r, intr_ran,
	       intr_saw_holding ? "yes" : "no");
	pthread_mutex_unlock(&intr_lock);
	pthread_join(t, NULL);
	return 0;
}

/* --- poll, select ------------------------------------------------------------------------- */

static int poll_pipe[2];
static volatile int poll_spun;

struct bit_name { unsigned bit; const char *name; };

/* The names of the bits set in r, joined by '|' ("0" for none), in a static buffer. */
static const char *bit_names(unsigned r, const struct bit_name *names, size_t count)
{
	static char buf[64];
	buf[0] = 0;
	for (size_t i = 0; i < count; i++)
		if (r & names[i].bit) {
			strcat(buf, buf[0] ? "|" : "");
			strcat(buf, names[i].name);
		}
	return buf[0] ? buf : "0";
}

static const char *ev_names(short r)
{
	static const struct bit_name names[] = {
		{ POLLIN, "IN" }, { POLLPRI, "PRI" }, { POLLOUT, "OUT" }, { POLLERR, "ERR" },
		{ POLLHUP, "HUP" }, { POLLNVAL, "NVAL" },
	};
	return bit_names((unsigned short)r, names, sizeof names / sizeof names[0]);
}

static int poll1(int fd, short events, int timeout, short *revents)
{
	struct pollfd p = { .fd = fd, .events = events, .revents = 0x7fff };
	int r = poll(&p, 1, timeout);
	*revents = p.revents;
	return r;
}

/* Writes a byte to poll_pipe 5 ms in. */
static void *poll_writer(void *arg)
{
	(void)arg;
	usleep(5000);
	write(poll_pipe[1], "w", 1);
	return NULL;
}

/* Computes for 10 ms (its own clock: virtual time under kernkit), then writes to poll_pipe. */
static void *poll_spinner(void *arg)
{
	(void)arg;
	uint64_t end = now_ns() + 10000000;
	unsigned long n = 0;
	while (now_ns() < end)
		n++;
	poll_spun = n > 0;
	write(poll_pipe[1], "s", 1);
	return NULL;
}

static void *poll_dialer(void *arg)
{
	int port = (int)(long)arg;
	usleep(5000);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = { htonl(INADDR_LOOPBACK) } };
	if (connect(s, (struct sockaddr *)&a, sizeof a) < 0)
		perror("connect");
	intr_peer = s;
	usleep(5000);
	write(s, "hello", 5);
	return NULL;
}

static void poll_sockets(void)
{
	int port = 40000 + (getpid() + 7) % 20000;
	int l = listen_loopback(&port);
	if (l < 0)
		return;
	short rev;
	int r = poll1(l, POLLIN, 0, &rev);
	printf("listening socket, nobody calling: %d %s\n", r, ev_names(rev));
	pthread_t t;
	pthread_create(&t, NULL, poll_dialer, (void *)(long)port);
	r = poll1(l, POLLIN, 5000, &rev);
	printf("listening socket, a call comes: %d %s\n", r, ev_names(rev));
	int c = accept(l, NULL, NULL);
	r = poll1(c, POLLOUT, -1, &rev);
	printf("accepted socket writable: %d %s\n", r, ev_names(rev));
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(c, &rd);
	r = select(c + 1, &rd, NULL, NULL, NULL);
	printf("select on the accepted socket until the peer writes: %d, set %d\n", r, FD_ISSET(c, &rd));
	char buf[8];
	ssize_t n = read(c, buf, sizeof buf);
	printf("read %zd '%.*s'\n", n, n > 0 ? (int)n : 0, buf);
	pthread_join(t, NULL);
	r = poll1(intr_peer, POLLOUT, 0, &rev);
	printf("connected socket writable: %d %s\n", r, ev_names(rev));
	close(intr_peer);
	r = poll1(c, POLLIN, 5000, &rev);
	n = read(c, buf, sizeof buf);
	printf("peer closed: %d %s, read %zd\n", r, (rev & POLLIN) ? "readable" : "not readable", n);
	close(c);
	close(l);
}

/* Writes a byte to poll_pipe 5 ms in, then signals the poller. */
static void *poll_write_kick(void *arg)
{
	(void)arg;
	usleep(5000);
	write(poll_pipe[1], "k", 1);
	pthread_kill(intr_target, SIGUSR1);
	return NULL;
}

static void poll_eintr(void)
{
	short rev;
	pthread_t t;
	intr_target = pthread_self();
	pipe(poll_pipe);
	intr_action(false);
	t = kick(KICK_ONLY);
	int r = poll1(poll_pipe[0], POLLIN, 1000, &rev);
	pthread_join(t, NULL);
	printf("poll interrupted: %d %s, handler ran %d\n", r, err_name(r), intr_ran);

	intr_action(true);
	t = kick(KICK_ONLY);
	r = poll1(poll_pipe[0], POLLIN, -1, &rev);
	pthread_join(t, NULL);
	printf("poll under SA_RESTART: %d %s, handler ran %d\n", r, err_name(r), intr_ran);

	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(poll_pipe[0], &rd);
	intr_action(false);
	t = kick(KICK_ONLY);
	r = select(poll_pipe[0] + 1, &rd, NULL, NULL, NULL);
	pthread_join(t, NULL);
	printf("select interrupted: %d %s, handler ran %d\n", r, err_name(r), intr_ran);

	/* blocked: the poll times out, the handler runs once unblocked */
	sigset_t usr1, none;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigemptyset(&none);
	intr_action(false);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	t = kick(KICK_ONLY);
	r = poll1(poll_pipe[0], POLLIN, 20, &rev);
	pthread_join(t, NULL);
	int before = intr_ran;
	printf("poll with SIGUSR1 blocked: %d, handler ran %d\n", r, before);

	/* ppoll and pselect unblock it while they wait: the pending one runs at once */
	struct timespec ts = { 1, 0 };
	struct pollfd p = { .fd = poll_pipe[0], .events = POLLIN };
	r = ppoll(&p, 1, &ts, &none);
	printf("ppoll unblocking a pending signal: %d %s, handler ran %d\n", r, err_name(r), intr_ran);
	sigset_t now;
	pthread_sigmask(SIG_SETMASK, NULL, &now);
	printf("SIGUSR1 blocked again after ppoll: %d\n", sigismember(&now, SIGUSR1));
	t = kick(KICK_ONLY);
	r = pselect(poll_pipe[0] + 1, &rd, NULL, NULL, &ts, &none);
	pthread_join(t, NULL);
	printf("pselect, a signal it unblocks comes: %d %s, handler ran %d\n", r, err_name(r), intr_ran);

	/* a byte and a signal together: the last look finds the byte (Linux says EINTR only when
	 * nothing is ready) */
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	intr_action(false);
	pthread_create(&t, NULL, poll_write_kick, NULL);
	r = poll1(poll_pipe[0], POLLIN, 1000, &rev);
	pthread_join(t, NULL);
	char c = 0;
	read(poll_pipe[0], &c, 1);
	printf("a byte and a signal together: %d %s, handler ran %d, read '%c'\n", r, r > 0 ? ev_names(rev) : err_name(r),
	       intr_ran, c);
	close(poll_pipe[0]);
	close(poll_pipe[1]);
}

/* The pipe is empty again (a byte written and read back) while another pthread polls it: a
 * poll of it now says so. */
static volatile int stale_done;

static void *poll_looper(void *arg)
{
	(void)arg;
	struct pollfd p = { .fd = poll_pipe[0], .events = POLLIN };
	while (!stale_done)
		poll(&p, 1, -1);
	return NULL;
}

static void poll_stale(void)
{
	pipe(poll_pipe);
	stale_done = 0;
	pthread_t t;
	pthread_create(&t, NULL, poll_looper, NULL);
	usleep(5000);
	char c;
	short rev;
	int empty = 0;
	for (int i = 0; i < 5; i++) {
		write(poll_pipe[1], "x", 1);
		read(poll_pipe[0], &c, 1);
		empty += poll1(poll_pipe[0], POLLIN, i % 2 ? 0 : 10, &rev) == 0;
	}
	printf("written and read back while another pthread polls, then polled: empty %d of 5\n", empty);
	stale_done = 1;
	write(poll_pipe[1], "y", 1);
	pthread_join(t, NULL);
	close(poll_pipe[0]);
	close(poll_pipe[1]);
}

/* Timeouts too long to add up in microseconds: no end (Linux saturates them) */
static void poll_huge_timeouts(void)
{
	pipe(poll_pipe);
	pthread_t t;
	struct pollfd p = { .fd = poll_pipe[0], .events = POLLIN };
	struct timespec ts = { (time_t)1 << 58, 0 }; /* times 10^6 is 2^64 times 15625 */
	pthread_create(&t, NULL, poll_writer, NULL);
	int r = ppoll(&p, 1, &ts, NULL);
	pthread_join(t, NULL);
	char c;
	read(poll_pipe[0], &c, 1);
	printf("ppoll, 2^58 s: %d %s\n", r, ev_names(p.revents));
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(poll_pipe[0], &rd);
	struct timeval tv = { (time_t)1 << 58, 0 };
	pthread_create(&t, NULL, poll_writer, NULL);
	r = select(poll_pipe[0] + 1, &rd, NULL, NULL, &tv);
	pthread_join(t, NULL);
	read(poll_pipe[0], &c, 1);
	printf("select, 2^58 s: %d, set %d\n", r, FD_ISSET(poll_pipe[0], &rd));
	close(poll_pipe[0]);
	close(poll_pipe[1]);
}

/* A pthread cancelled in ppoll runs its cleanup handlers under its own mask, not ppoll's. */
static volatile int cancel_mask_blocked = -1;

static void note_mask(void *arg)
{
	(void)arg;
	sigset_t now;
	pthread_sigmask(SIG_SETMASK, NULL, &now);
	cancel_mask_blocked = sigismember(&now, SIGUSR2);
}

static void *ppoll_cancelled(void *arg)
{
	(void)arg;
	sigset_t usr2, none;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigemptyset(&none);
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	struct pollfd p = { .fd = poll_pipe[0], .events = POLLIN };
	pthread_cleanup_push(note_mask, NULL);
	ppoll(&p, 1, NULL, &none);
	pthread_cleanup_pop(0);
	return NULL;
}

static void poll_cancel_mask(void)
{
	pipe(poll_pipe);
	pthread_t t;
	pthread_create(&t, NULL, ppoll_cancelled, NULL);
	usleep(5000);
	pthread_cancel(t);
	void *ret;
	pthread_join(t, &ret);
	printf("cancelled in ppoll: %s, SIGUSR2 blocked in its cleanup %d\n",
	       ret == PTHREAD_CANCELED ? "cancelled" : "not cancelled", cancel_mask_blocked);
	close(poll_pipe[0]);
	close(poll_pipe[1]);
}

static void *poll_forever(void *arg)
{
	(void)arg;
	struct pollfd p = { .fd = poll_pipe[0], .events = POLLIN };
	poll(&p, 1, -1);
	printf("poll_forever: returned\n");
	return NULL;
}

static int check_poll(const char *dir)
{
	char file[256];
	snprintf(file, sizeof file, "%s/poll_file", dir);
	short rev;
	if (pipe(poll_pipe) < 0) {
		perror("pipe");
		return 1;
	}
	int r = poll1(poll_pipe[0], POLLIN, 0, &rev);
	printf("empty pipe: %d %s\n", r, ev_names(rev));
	r = poll1(poll_pipe[1], POLLOUT | POLLIN, 0, &rev);
	printf("write end: %d %s\n", r, ev_names(rev));
	write(poll_pipe[1], "a", 1);
	r = poll1(poll_pipe[0], POLLIN | POLLOUT, 0, &rev);
	printf("a byte in the pipe: %d %s\n", r, ev_names(rev));
	char c;
	read(poll_pipe[0], &c, 1);
	uint64_t t0 = now_ns();
	r = poll1(poll_pipe[0], POLLIN, 20, &rev);
	printf("drained, 20 ms timeout: %d %s, waited 20 ms or more: %s\n", r, ev_names(rev),
	       now_ns() - t0 >= 20000000 ? "yes" : "no");

	pthread_t t;
	pthread_create(&t, NULL, poll_writer, NULL);
	r = poll1(poll_pipe[0], POLLIN, -1, &rev);
	pthread_join(t, NULL);
	read(poll_pipe[0], &c, 1);
	printf("woken by another pthread's write: %d %s '%c'\n", r, ev_names(rev), c);

	/* a pthread that polls does not hold its vcore: the spinner computes meanwhile */
	pthread_create(&t, NULL, poll_spinner, NULL);
	r = poll1(poll_pipe[0], POLLIN, 2000, &rev);
	pthread_join(t, NULL);
	read(poll_pipe[0], &c, 1);
	printf("woken by a computing pthread: %d %s '%c', it computed %d\n", r, ev_names(rev), c, poll_spun);

	/* several descriptors, one twice, one negative, one not open */
	write(poll_pipe[1], "b", 1);
	struct pollfd set[5] = {
		{ .fd = poll_pipe[0], .events = POLLIN }, { .fd = poll_pipe[1], .events = POLLOUT },
		{ .fd = -1, .events = POLLIN }, { .fd = 999, .events = POLLIN }, { .fd = poll_pipe[0], .events = POLLOUT },
	};
	r = poll(set, 5, 0);
	printf("a set of five: %d:", r);
	for (int i = 0; i < 5; i++)
		printf(" %s", ev_names(set[i].revents));
	printf("\n");
	read(poll_pipe[0], &c, 1);

	/* select and pselect */
	fd_set rd, wr;
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_SET(poll_pipe[0], &rd);
	FD_SET(poll_pipe[1], &wr);
	FD_SET(poll_pipe[1], &rd);
	int nfds = (poll_pipe[0] > poll_pipe[1] ? poll_pipe[0] : poll_pipe[1]) + 1;
	struct timeval tv = { 0, 10000 };
	r = select(nfds, &rd, &wr, NULL, &tv);
	printf("select, write end writable: %d, read %d %d, write %d\n", r, FD_ISSET(poll_pipe[0], &rd),
	       FD_ISSET(poll_pipe[1], &rd), FD_ISSET(poll_pipe[1], &wr));
	FD_ZERO(&rd);
	FD_SET(poll_pipe[0], &rd);
	tv = (struct timeval){ 0, 10000 };
	t0 = now_ns();
	r = select(nfds, &rd, NULL, NULL, &tv);
	printf("select times out: %d, set %d, waited 10 ms or more: %s\n", r, FD_ISSET(poll_pipe[0], &rd),
	       now_ns() - t0 >= 10000000 ? "yes" : "no");
	FD_ZERO(&rd);
	FD_SET(20, &rd); /* within the table Linux starts with (past it, select ignores the bit) */
	errno = 0;
	r = select(21, &rd, NULL, NULL, NULL);
	printf("select on a descriptor not open: %d %s\n", r, strerror(errno));
	write(poll_pipe[1], "c", 1);
	FD_ZERO(&rd);
	FD_SET(poll_pipe[0], &rd);
	struct timespec ts = { 0, 0 };
	r = pselect(nfds, &rd, NULL, NULL, &ts, NULL);
	printf("pselect: %d, set %d\n", r, FD_ISSET(poll_pipe[0], &rd));
	read(poll_pipe[0], &c, 1);
	struct pollfd p = { .fd = poll_pipe[0], .events = POLLIN };
	ts = (struct timespec){ 0, 5000000 };
	r = ppoll(&p, 1, &ts, NULL);
	printf("ppoll times out: %d, timespec kept %ld.%09ld\n", r, (long)ts.tv_sec, (long)ts.tv_nsec);

	/* a regular file is always ready */
	int f = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	r = poll1(f, POLLIN | POLLOUT, -1, &rev);
	printf("regular file: %d %s\n", r, ev_names(rev));
	close(f);

	/* hangups: the writer goes, then (a new pipe) the reader */
	close(poll_pipe[1]);
	r = poll1(poll_pipe[0], POLLIN, -1, &rev);
	printf("writer closed: %d, hangup %d, read %zd\n", r, !!(rev & POLLHUP), read(poll_pipe[0], &c, 1));
	close(poll_pipe[0]);
	pipe(poll_pipe);
	close(poll_pipe[0]);
	r = poll1(poll_pipe[1], POLLOUT, -1, &rev);
	printf("reader closed: %d, error %d\n", r, !!(rev & POLLERR));
	close(poll_pipe[1]);
	r = poll1(poll_pipe[1], POLLIN, -1, &rev);
	printf("closed descriptor: %d %s\n", r, ev_names(rev));

	/* no descriptors: a sleep */
	t0 = now_ns();
	r = poll(NULL, 0, 15);
	printf("poll of nothing for 15 ms: %d, waited 15 ms or more: %s\n", r, now_ns() - t0 >= 15000000 ? "yes" : "no");

	/* poll is a cancellation point */
	pipe(poll_pipe);
	pthread_create(&t, NULL, poll_forever, NULL);
	usleep(5000);
	pthread_cancel(t);
	void *ret;
	pthread_join(t, &ret);
	printf("a pthread cancelled in poll: %s\n", ret == PTHREAD_CANCELED ? "cancelled" : "not cancelled");
	close(poll_pipe[0]);
	close(poll_pipe[1]);

	poll_sockets();
	poll_eintr();
	poll_stale();
	poll_huge_timeouts();
	poll_cancel_mask();
	return 0;
}

/* --- epoll --------------------------------------------------------------------------------- */

static const char *ep_names(uint32_t r)
{
	static const struct bit_name names[] = {
		{ EPOLLIN, "IN" }, { EPOLLPRI, "PRI" }, { EPOLLOUT, "OUT" }, { EPOLLERR, "ERR" },
		{ EPOLLHUP, "HUP" }, { EPOLLRDHUP, "RDHUP" },
	};
	return bit_names(r, names, sizeof names / sizeof names[0]);
}

static const char *ep_err(int r)
{
	return r >= 0 ? "ok" : errno == EEXIST ? "EEXIST" : errno == ENOENT ? "ENOENT" : errno == EBADF ? "EBADF" :
	       errno == EINVAL ? "EINVAL" : errno == EPERM ? "EPERM" : errno == EINTR ? "EINTR" : strerror(errno);
}

static int ep_add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* One epoll_wait for at most 8 events: "n EVENTS/DATA ..." (or "-1 ERRNO"). */
static const char *ep_wait(int ep, int max, int timeout)
{
	static char buf[256];
	struct epoll_event evs[8];
	errno = 0;
	int r = epoll_wait(ep, evs, max, timeout);
	if (r < 0) {
		snprintf(buf, sizeof buf, "-1 %s", ep_err(r));
		return buf;
	}
	int at = snprintf(buf, sizeof buf, "%d", r);
	for (int i = 0; i < r; i++)
		at += snprintf(buf + at, sizeof buf - (size_t)at, " %s/%llx", ep_names(evs[i].events),
		               (unsigned long long)evs[i].data.u64);
	return buf;
}

static int ep_pipe[2], ep_target;

/* Writes a byte (arg) to ep_target 5 ms in. */
static void *ep_writer(void *arg)
{
	usleep(5000);
	write(ep_target, arg, 1);
	return NULL;
}

/* Read until the pipe is empty (nonblocking): how many bytes. */
static int ep_drain(int fd)
{
	char buf[64];
	int n = 0;
	ssize_t r;
	while ((r = read(fd, buf, sizeof buf)) > 0)
		n += (int)r;
	return n;
}

static void *ep_forever(void *arg)
{
	struct epoll_event ev;
	epoll_wait((int)(long)arg, &ev, 1, -1);
	printf("ep_forever: returned\n");
	return NULL;
}

static void epoll_sockets(void)
{
	int port = 41000 + (getpid() + 11) % 20000;
	int l = listen_loopback(&port);
	if (l < 0)
		return;
	int ep = epoll_create1(0);
	ep_add(ep, l, EPOLLIN, 0x11);
	printf("listening socket, nobody calling: %s\n", ep_wait(ep, 8, 0));
	pthread_t t;
	pthread_create(&t, NULL, poll_dialer, (void *)(long)port);
	printf("listening socket, a call comes: %s\n", ep_wait(ep, 8, 5000));
	int c = accept(l, NULL, NULL);
	printf("still ready once accepted: %s\n", ep_wait(ep, 8, 0));
	ep_add(ep, c, EPOLLOUT, 0x22);
	printf("accepted socket writable: %s\n", ep_wait(ep, 8, 0));
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = 0x23 };
	epoll_ctl(ep, EPOLL_CTL_MOD, c, &ev);
	printf("until the peer writes: %s\n", ep_wait(ep, 8, 5000));
	char buf[8];
	ssize_t n = read(c, buf, sizeof buf);
	printf("read %zd '%.*s'\n", n, n > 0 ? (int)n : 0, buf);
	pthread_join(t, NULL);
	close(intr_peer);
	printf("peer closed: %s\n", ep_wait(ep, 8, 5000));
	printf("read %zd\n", read(c, buf, sizeof buf));
	close(c);
	close(l);
	close(ep);
}

static void epoll_eintr(void)
{
	intr_target = pthread_self();
	pipe(ep_pipe);
	int ep = epoll_create1(0);
	ep_add(ep, ep_pipe[0], EPOLLIN, 1);
	intr_action(false);
	pthread_t t = kick(KICK_ONLY);
	const char *r = ep_wait(ep, 8, 1000);
	pthread_join(t, NULL);
	printf("epoll_wait interrupted: %s, handler ran %d\n", r, intr_ran);
	intr_action(true);
	t = kick(KICK_ONLY);
	r = ep_wait(ep, 8, -1);
	pthread_join(t, NULL);
	printf("epoll_wait under SA_RESTART: %s, handler ran %d\n", r, intr_ran);

	/* blocked: the wait times out; epoll_pwait unblocks it while it waits */
	sigset_t usr1, none, now;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigemptyset(&none);
	intr_action(false);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	t = kick(KICK_ONLY);
	r = ep_wait(ep, 8, 20);
	pthread_join(t, NULL);
	printf("epoll_wait with SIGUSR1 blocked: %s, handler ran %d\n", r, intr_ran);
	struct epoll_event ev;
	errno = 0;
	int n = epoll_pwait(ep, &ev, 1, 1000, &none);
	printf("epoll_pwait unblocking a pending signal: %d %s, handler ran %d\n", n, ep_err(n), intr_ran);
	pthread_sigmask(SIG_SETMASK, NULL, &now);
	printf("SIGUSR1 blocked again after epoll_pwait: %d\n", sigismember(&now, SIGUSR1));
	pthread_sigmask(SIG_SETMASK, &none, NULL);

	/* a byte and a signal together: the byte */
	intr_action(false);
	poll_pipe[1] = ep_pipe[1];
	pthread_create(&t, NULL, poll_write_kick, NULL);
	r = ep_wait(ep, 8, 1000);
	pthread_join(t, NULL);
	char c = 0;
	read(ep_pipe[0], &c, 1);
	printf("a byte and a signal together: %s, read '%c'\n", r, c);

	/* a cancellation point */
	pthread_create(&t, NULL, ep_forever, (void *)(long)ep);
	usleep(5000);
	pthread_cancel(t);
	void *ret;
	pthread_join(t, &ret);
	printf("a pthread cancelled in epoll_wait: %s\n", ret == PTHREAD_CANCELED ? "cancelled" : "not cancelled");
	close(ep);
	close(ep_pipe[0]);
	close(ep_pipe[1]);
}

static int check_epoll(const char *dir)
{
	char file[256];
	snprintf(file, sizeof file, "%s/epoll_file", dir);
	errno = 0;
	int r = epoll_create(1);
	printf("epoll_create(1): %s\n", r >= 0 ? "a descriptor" : ep_err(r));
	close(r);
	r = epoll_create1(1);
	printf("epoll_create1(1): %d %s\n", r, ep_err(r));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	printf("epoll_create1(EPOLL_CLOEXEC): %s, close on exec %d\n", ep >= 0 ? "a descriptor" : ep_err(ep),
	       (fcntl(ep, F_GETFD) & FD_CLOEXEC) != 0);
	pipe(ep_pipe);
	int f = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);

	/* epoll_ctl's errors */
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 1 };
	r = ep_add(ep, ep_pipe[0], EPOLLIN, 0x0123456789abcdefull);
	printf("add: %s\n", ep_err(r));
	r = ep_add(ep, ep_pipe[0], EPOLLIN, 2);
	printf("add again: %s\n", ep_err(r));
	r = epoll_ctl(ep, EPOLL_CTL_MOD, ep_pipe[1], &ev);
	printf("mod of one not added: %s\n", ep_err(r));
	r = epoll_ctl(ep, EPOLL_CTL_DEL, ep_pipe[1], NULL);
	printf("del of one not added: %s\n", ep_err(r));
	r = ep_add(ep, ep, EPOLLIN, 3);
	printf("add of the epoll descriptor itself: %s\n", ep_err(r));
	r = ep_add(ep_pipe[0], ep_pipe[1], EPOLLIN, 3);
	printf("add to a descriptor that is no epoll: %s\n", ep_err(r));
	r = epoll_ctl(ep, 99, ep_pipe[1], &ev);
	printf("unknown op: %s\n", ep_err(r));
	r = ep_add(ep, 999, EPOLLIN, 3);
	printf("add of a descriptor not open: %s\n", ep_err(r));
	r = ep_add(999, ep_pipe[1], EPOLLIN, 3);
	printf("add to an epoll descriptor not open: %s\n", ep_err(r));
	r = ep_add(ep, f, EPOLLIN, 3);
	printf("add of a regular file: %s\n", ep_err(r));
	struct epoll_event evs[2];
	errno = 0;
	r = epoll_wait(ep, evs, 0, 0);
	printf("maxevents 0: %d %s\n", r, ep_err(r));
	r = epoll_wait(ep_pipe[0], evs, 1, 0);
	printf("wait on a descriptor that is no epoll: %d %s\n", r, ep_err(r));

	/* level-triggered: ready while it is so; the data as given */
	printf("empty pipe: %s\n", ep_wait(ep, 8, 0));
	write(ep_pipe[1], "a", 1);
	printf("a byte in the pipe: %s\n", ep_wait(ep, 8, 0));
	printf("still there: %s\n", ep_wait(ep, 8, -1));
	char c;
	read(ep_pipe[0], &c, 1);
	uint64_t t0 = now_ns();
	const char *got = ep_wait(ep, 8, 20);
	uint64_t waited = now_ns() - t0;
	printf("drained, 20 ms timeout: %s, waited 20 ms or more: %s\n", got, waited >= 20000000 ? "yes" : "no");
	pthread_t t;
	ep_target = ep_pipe[1];
	pthread_create(&t, NULL, ep_writer, "w");
	printf("woken by another pthread's write: %s\n", ep_wait(ep, 8, -1));
	pthread_join(t, NULL);
	read(ep_pipe[0], &c, 1);
	poll_pipe[1] = ep_pipe[1];
	pthread_create(&t, NULL, poll_spinner, NULL);
	const char *w = ep_wait(ep, 8, 2000);
	pthread_join(t, NULL);
	printf("woken by a computing pthread: %s, it computed %d\n", w, poll_spun);
	read(ep_pipe[0], &c, 1);
	ep_add(ep, ep_pipe[1], EPOLLOUT, 0x42);
	printf("write end added for EPOLLOUT: %s\n", ep_wait(ep, 8, 0));
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = 0x43 };
	r = epoll_ctl(ep, EPOLL_CTL_MOD, ep_pipe[1], &ev);
	printf("modified to EPOLLIN: %s, then %s\n", ep_err(r), ep_wait(ep, 8, 0));
	r = epoll_ctl(ep, EPOLL_CTL_DEL, ep_pipe[1], NULL);
	printf("deleted: %s\n", ep_err(r));

	/* maxevents: every ready entry in turn */
	int more[2][2];
	pipe(more[0]);
	pipe(more[1]);
	ep_add(ep, more[0][0], EPOLLIN, 0xb);
	ep_add(ep, more[1][0], EPOLLIN, 0xc);
	write(ep_pipe[1], "a", 1);
	write(more[0][1], "b", 1);
	write(more[1][1], "c", 1);
	printf("three ready, two at a time: %s;", ep_wait(ep, 2, 0));
	printf(" %s;", ep_wait(ep, 2, 0));
	printf(" %s\n", ep_wait(ep, 8, 0));
	read(ep_pipe[0], &c, 1);

	/* a watched descriptor closed goes from the list */
	close(more[0][0]);
	close(more[1][0]);
	close(more[0][1]);
	printf("watched descriptors closed: %s\n", ep_wait(ep, 8, 0));

	/* edge-triggered: reported when it becomes ready, then not until it does again */
	int et[2];
	pipe2(et, O_NONBLOCK);
	ep_add(ep, et[0], EPOLLIN | EPOLLET, 0xe7);
	printf("ET, empty: %s\n", ep_wait(ep, 8, 0));
	write(et[1], "x", 1);
	printf("ET, a byte: %s\n", ep_wait(ep, 8, 0));
	printf("ET, the byte still there: %s\n", ep_wait(ep, 8, 0));
	printf("ET, read until EAGAIN: %d bytes\n", ep_drain(et[0]));
	write(et[1], "y", 1);
	printf("ET, another byte: %s\n", ep_wait(ep, 8, -1));
	read(et[0], &c, 1);
	write(et[1], "z", 1);
	printf("ET, read without EAGAIN, then a byte: %s\n", ep_wait(ep, 8, 0));
	ep_drain(et[0]);
	ep_target = et[1];
	pthread_create(&t, NULL, ep_writer, "w");
	printf("ET, woken by another pthread's write: %s\n", ep_wait(ep, 8, -1));
	pthread_join(t, NULL);
	ep_drain(et[0]);
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLET, .data.u64 = 0xe8 };
	write(et[1], "m", 1);
	ep_wait(ep, 8, 0);
	epoll_ctl(ep, EPOLL_CTL_MOD, et[0], &ev);
	printf("ET, modified while readable: %s\n", ep_wait(ep, 8, 0));
	ep_drain(et[0]);
	epoll_ctl(ep, EPOLL_CTL_DEL, et[0], NULL);

	/* one-shot: reported once, until a MOD */
	ep_add(ep, et[0], EPOLLIN | EPOLLONESHOT, 0x1);
	write(et[1], "o", 1);
	printf("oneshot: %s\n", ep_wait(ep, 8, 0));
	printf("oneshot, still readable: %s\n", ep_wait(ep, 8, 0));
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 0x2 };
	epoll_ctl(ep, EPOLL_CTL_MOD, et[0], &ev);
	printf("oneshot, armed again: %s\n", ep_wait(ep, 8, 0));
	r = ep_add(ep, et[0], EPOLLIN, 3);
	printf("add of a disabled one: %s\n", ep_err(r));
	epoll_ctl(ep, EPOLL_CTL_DEL, et[0], NULL);
	close(et[0]);
	close(et[1]);

	/* hangups */
	ep_add(ep, ep_pipe[0], EPOLLIN, 0);
	close(ep_pipe[1]);
	struct epoll_event one;
	r = epoll_wait(ep, &one, 1, -1);
	printf("writer closed: %d, hangup %d\n", r, !!(one.events & EPOLLHUP));
	close(ep_pipe[0]);
	pipe(ep_pipe);
	ep_add(ep, ep_pipe[1], EPOLLOUT, 0);
	close(ep_pipe[0]);
	r = epoll_wait(ep, &one, 1, -1);
	printf("reader closed: %d, error %d\n", r, !!(one.events & EPOLLERR));
	close(ep_pipe[1]);
	close(f);
	printf("nothing left: %s\n", ep_wait(ep, 8, 0));

	/* an epoll descriptor closed */
	r = close(ep);
	printf("closed: %d, then %s\n", r, ep_wait(ep, 8, 0));

	epoll_sockets();
	epoll_eintr();
	return 0;
}

/* One pthread polls an empty pipe (30 ms timeout) while another computes for 10 ms and then
 * writes to it: a JSON line of when each thing happened, in microseconds of the program's
 * clock (virtual time under kernkit).  A poll that held its vcore would time out first. */
static uint64_t share_started;

static void *share_spinner(void *arg)
{
	(void)arg;
	share_started = now_ns();
	return poll_spinner(NULL);
}

static int check_pollshare(bool use_epoll)
{
	pipe(poll_pipe);
	int ep = -1;
	if (use_epoll) { /* epollshare: the same with epoll_wait */
		ep = epoll_create1(0);
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = poll_pipe[0] };
		epoll_ctl(ep, EPOLL_CTL_ADD, poll_pipe[0], &ev);
	}
	pthread_t t;
	uint64_t t0 = now_ns();
	pthread_create(&t, NULL, share_spinner, NULL);
	short rev = 0;
	int r;
	if (use_epoll) {
		struct epoll_event ev = { 0 };
		r = epoll_wait(ep, &ev, 1, 30);
		rev = r > 0 && ev.data.fd == poll_pipe[0] ? (short)ev.events : 0;
	} else {
		r = poll1(poll_pipe[0], POLLIN, 30, &rev);
	}
	uint64_t woke = now_ns();
	pthread_join(t, NULL);
	printf("{\"program\": \"posix_check\", \"mode\": \"%s\", \"poll\": %d, \"revents\": \"%s\", "
	       "\"timeout_us\": 30000, \"spin_us\": 10000, \"spinner_started_us\": %lu, \"poll_returned_us\": %lu}\n",
	       use_epoll ? "epollshare" : "pollshare", r, ev_names(rev), (unsigned long)((share_started - t0) / 1000),
	       (unsigned long)((woke - t0) / 1000));
	return 0;
}

/* --- waits a handler runs in: join, mutex_timedlock, waitpid, sigtimedwait ------------------- */

static volatile int wi_done, wi_saw_done = -1;

static void on_wi(int sig)
{
	(void)sig;
	intr_ran++;
	wi_saw_done = wi_done;
	intr_saw_holding = intr_holding;
}

static void wi_action(bool restart)
{
	struct sigaction sa = { .sa_handler = on_wi, .sa_flags = restart ? SA_RESTART : 0 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	intr_ran = 0;
	wi_done = 0;
	wi_saw_done = -1;
}

static void *wi_sleeper(void *arg)
{
	(void)arg;
	usleep(20000);
	wi_done = 1;
	return (void *)7;
}

/* Signals the main thread 5 ms in, then SIGUSR2 5 ms later. */
static void *wi_kick_twice(void *arg)
{
	(void)arg;
	usleep(5000);
	pthread_kill(intr_target, SIGUSR1);
	usleep(5000);
	wi_done = 1;
	pthread_kill(intr_target, SIGUSR2);
	return NULL;
}

static pid_t wi_child(const char *self)
{
	char *argv[] = { (char *)self, "sleepms", "50", NULL };
	pid_t pid = -1;
	if (posix_spawn(&pid, self, NULL, NULL, argv, environ))
		return -1;
	return pid;
}

static int check_waitintr(const char *self)
{
	intr_target = pthread_self();
	pthread_t t, w;
	void *ret = NULL;

	wi_action(false);
	pthread_create(&w, NULL, wi_sleeper, NULL);
	t = kick(KICK_ONLY);
	int r = pthread_join(w, &ret);
	pthread_join(t, NULL);
	printf("pthread_join: %d, returned %ld, handler ran %d, while the thread still ran: %s\n", r, (long)ret,
	       intr_ran, wi_saw_done == 0 ? "yes" : "no");

	wi_action(true);
	pthread_create(&w, NULL, wi_sleeper, NULL);
	t = kick(KICK_ONLY);
	r = pthread_join(w, &ret);
	pthread_join(t, NULL);
	printf("pthread_join under SA_RESTART: %d, returned %ld, handler ran %d, while the thread still ran: %s\n", r,
	       (long)ret, intr_ran, wi_saw_done == 0 ? "yes" : "no");

	wi_action(false);
	t = kick(KICK_HOLDING);
	while (!intr_holding)
		sched_yield();
	struct timespec abstime = in_ms(1000);
	r = pthread_mutex_timedlock(&intr_lock, &abstime);
	printf("mutex_timedlock: %d, handler ran %d while the other held it: %s\n", r, intr_ran,
	       intr_saw_holding ? "yes" : "no");
	pthread_mutex_unlock(&intr_lock);
	pthread_join(t, NULL);

	int status = 0;
	wi_action(false);
	pid_t pid = wi_child(self);
	t = kick(KICK_ONLY);
	pid_t got = waitpid(pid, &status, 0);
	int err = errno;
	pthread_join(t, NULL);
	printf("waitpid: %s, handler ran %d\n", got == -1 && err == EINTR ? "-1 EINTR" : got == pid ? "the child" : "?",
	       intr_ran);
	got = waitpid(pid, &status, 0);
	printf("waitpid again: %s, exit status %d\n", got == pid ? "the child" : "?", WEXITSTATUS(status));

	wi_action(true);
	pid = wi_child(self);
	t = kick(KICK_ONLY);
	got = waitpid(pid, &status, 0);
	pthread_join(t, NULL);
	printf("waitpid under SA_RESTART: %s, exit status %d, handler ran %d\n", got == pid ? "the child" : "?",
	       WEXITSTATUS(status), intr_ran);

	sigset_t usr2;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	siginfo_t info;
	struct timespec second = { 1, 0 };
	/* SIGUSR1's handler runs while they wait; SIGUSR2 comes 5 ms later.  The kernel (and glibc)
	 * return EINTR after the handler; musl's wrappers make the call again: a portable program
	 * loops, and how often it did goes to stderr. */
	int eintrs[3] = { 0, 0, 0 };
	for (int which = 0; which < 3; which++) {
		wi_action(which == 1);
		pthread_create(&t, NULL, wi_kick_twice, NULL);
		do {
			errno = 0;
			r = which < 2 ? sigtimedwait(&usr2, &info, &second) : sigwaitinfo(&usr2, &info);
		} while (r < 0 && errno == EINTR && ++eintrs[which]);
		pthread_join(t, NULL);
		printf("%s: %d, handler ran %d, before SIGUSR2 was sent: %s\n",
		       which == 0 ? "sigtimedwait" : which == 1 ? "sigtimedwait under SA_RESTART" : "sigwaitinfo", r, intr_ran,
		       wi_saw_done == 0 ? "yes" : "no");
	}
	fprintf(stderr, "waitintr: EINTR from sigtimedwait %d, under SA_RESTART %d, from sigwaitinfo %d\n", eintrs[0],
	        eintrs[1], eintrs[2]);
	wi_action(false);
	pthread_create(&t, NULL, wi_kick_twice, NULL);
	int sig = 0;
	r = sigwait(&usr2, &sig);
	pthread_join(t, NULL);
	printf("sigwait: %d, got %d, handler ran %d, before SIGUSR2 was sent: %s\n", r, sig, intr_ran,
	       wi_saw_done == 0 ? "yes" : "no");
	return 0;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(what, "fp"))
		return check_fp();
	if (!strcmp(what, "timed"))
		return check_timed();
	if (!strcmp(what, "cancel"))
		return check_cancel();
	if (!strcmp(what, "signal"))
		return check_signal();
	if (!strcmp(what, "sigmask"))
		return check_sigmask();
	if (!strcmp(what, "sigwait"))
		return check_sigwait();
	if (!strcmp(what, "float"))
		return check_float();
	if (!strcmp(what, "hexfloat"))
		return check_hexfloat();
	if (!strcmp(what, "ldouble"))
		return check_ldouble();
	if (!strcmp(what, "eintr"))
		return check_eintr();
	if (!strcmp(what, "poll") && argc > 2)
		return check_poll(argv[2]);
	if (!strcmp(what, "epoll") && argc > 2)
		return check_epoll(argv[2]);
	if (!strcmp(what, "waitintr") && argc > 2)
		return check_waitintr(argv[2]);
	if (!strcmp(what, "sleepms") && argc > 2) {
		usleep((useconds_t)atoi(argv[2]) * 1000);
		return 3;
	}
	if (!strcmp(what, "pollshare"))
		return check_pollshare(false);
	if (!strcmp(what, "epollshare"))
		return check_pollshare(true);
	if (!strcmp(what, "tls"))
		return check_tls();
	if (!strcmp(what, "spawnfd") && argc > 3)
		return check_spawnfd(argv[2], argv[3]);
	if (!strcmp(what, "slice"))
		return check_slice(argc > 2 && !strcmp(argv[2], "locks"));
	if (!strcmp(what, "spawn") && argc > 2)
		return check_spawn(argv[2]);
	if (!strcmp(what, "spawnattr") && argc > 2) {
		if (argc > 3 && !strcmp(argv[3], "procsigstate"))
			child_mode = argv[3]; /* any other argument: the oracle's scratch directory */
		return check_spawnattr(argv[2]);
	}
	if (!strcmp(what, "jobs") && argc > 2)
		return check_jobs(argv[2]);
	if (!strcmp(what, "jobwait"))
		return check_jobwait();
	if (!strcmp(what, "jobsid") && argc > 3)
		return check_jobsid(argv[2], argv[3]);
	if (!strcmp(what, "sigstate") && argc > 2)
		return check_sigstate(argv[2]);
	if (!strcmp(what, "procsigstate") && argc > 2)
		return check_procsigstate(argv[2]);
	fprintf(stderr, "usage: posix_check fp|timed|cancel|signal|tls|float|hexfloat|ldouble|eintr|poll DIR|pollshare|epoll DIR|epollshare|waitintr SELF|sigmask|sigwait|slice [locks]|spawn PROGRAM|spawnfd ECHO FILE|spawnattr SELF [sigstate|procsigstate]|jobs SELF\n");
	return 2;
}
