/* C start-up: argv and environment, vcore 0's TLS block, main, exit. */
#include "uthread.h"
#include "tls.h"
#include "vcore.h"

int main(int argc, char **argv, char **envp);

char **environ;
void __parlib_preinit(void) __attribute__((weak));
struct vcore_tls *__vcore0_tls;

__attribute__((noreturn, used)) void __parlib_start(uint64_t *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);
	environ = argv + argc + 1;

	/* Until vcore_lib_init, the SCP runs on vcore 0's TLS block.  Notifications stay off for
	 * an SCP: no vcore_entry exists yet, and an SCP polls its events (handle_events). */
	struct vcore_tls *tls = tls_block_new(true);
	if (!tls)
		exit(134); /* no memory for the first TLS block: nothing can run, not even a panic */
	tls->vc = tls;
	tls->vcpd = vcpd_of(0);
	__vcore0_tls = tls;
	write_fsbase((uint64_t)tls);
	vcpd_of(0)->notif_disabled = 1;

	if (__parlib_preinit)
		__parlib_preinit(); /* a library's start-up: the POSIX layer makes the program a pthread */
	exit(main(argc, argv, environ));
}

int getpid(void)
{
	return (int)__procinfo.pid;
}

char *getenv(const char *name)
{
	size_t n = strlen(name);
	for (char **e = environ; e && *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

void exit(int status)
{
	for (;;)
		sys_proc_destroy(getpid(), status);
}

void parlib_panic(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(buf, sizeof buf, "parlib: pid %d vcore %u: ", getpid(), vcore_id());
	if (n < (int)sizeof buf)
		n += vsnprintf(buf + n, sizeof buf - n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof buf - 2)
		n = sizeof buf - 2;
	buf[n++] = '\n';
	write_all(2, buf, n);
	exit(134);
}
