/* akaros_ns: Akaros's namespace calls from an Akaros-personality process (over parlib):
 * fd2path of the console, nbind of a #tmpfs before /srv (with create), a Linux child (cat)
 * showing the namespace it shares, nunmount, and the errors of bad calls. */
#include "parlib/parlib.h"

#define SYS_nbind 145
#define SYS_nmount 146
#define SYS_nunmount 147
#define SYS_fd2path 149
#define MBEFORE 1
#define MCREATE 4

static long nbind(const char *src, const char *onto, int flag)
{
	return ros_syscall(SYS_nbind, src, strlen(src), onto, strlen(onto), flag, 0);
}

static long nunmount(const char *src, const char *onto)
{
	return ros_syscall(SYS_nunmount, src, strlen(src), onto, strlen(onto), 0, 0);
}

static void show_ns(void)
{
	char *argv[] = {"cat", "/proc/self/ns", 0};
	char *envp[] = {0};
	long pid = sys_proc_create("/bin/cat", 8, argv, envp, 0);
	int status = 0;
	if (pid < 0 || sys_proc_run(pid) < 0 || sys_waitpid(pid, &status, 0) != pid)
		printf("akaros_ns: cannot run cat: %ld\n", pid);
}

int main(void)
{
	char path[64];
	long r = ros_syscall(SYS_fd2path, 1, path, sizeof path, 0, 0, 0);
	printf("fd2path(1) = %ld %s\n", r, path);
	printf("fd2path(1, short buffer) = %ld\n", ros_syscall(SYS_fd2path, 1, path, 4, 0, 0, 0));
	printf("fd2path(9) = %ld\n", ros_syscall(SYS_fd2path, 9, path, sizeof path, 0, 0, 0));
	printf("nbind = %ld\n", nbind("#tmpfs.akaros", "/srv", MBEFORE | MCREATE));
	show_ns();
	printf("nunmount = %ld\n", nunmount("#tmpfs.akaros", "/srv"));
	printf("nunmount again = %ld\n", nunmount("#tmpfs.akaros", "/srv"));
	printf("nbind of nothing = %ld\n", nbind("/nothing", "/srv", 0));
	printf("nbind with a bad flag = %ld\n", nbind("#tmpfs", "/srv", 0x100));
	printf("nmount of a non-9P fd = %ld\n", ros_syscall(SYS_nmount, 0, "/srv", 4, 0, 0, 0));
	return 0;
}
