/* test_notify.c — notify.c against real datagram sockets: what a socket
 * path and an abstract NOTIFY_SOCKET receive, the variable gone from the
 * environment, a malformed variable refused, a socket nobody binds
 * harmless, NULL accepted everywhere. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"
#include "tap.h"

/* Binds a datagram socket at addr (path, or @abstract). */
static int
listener(const char *addr)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", addr);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(addr));
	if (addr[0] == '@')
		sa.sun_path[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, len) != 0)
		printf("# bind %s: %s\n", addr, strerror(errno));
	return fd;
}

static void
received(int fd, const char *want, const char *what)
{
	char buf[1024];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	ok(strstr(buf, want) != NULL, "%s", what);
	if (strstr(buf, want) == NULL)
		printf("#   got '%s'\n", buf);
}

static void
test_notify(void)
{
	char path[128], abs[64], pid[64];
	struct notify *n;
	int fd;

	unsetenv("NOTIFY_SOCKET");
	ok(notify_open() == NULL, "no NOTIFY_SOCKET: no notifier");
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	ok(notify_open() == NULL, "a relative NOTIFY_SOCKET: refused");
	ok(getenv("NOTIFY_SOCKET") == NULL, "... and unset all the same");

	snprintf(path, sizeof(path), "/tmp/dpnotify.%ld", (long)getpid());
	unlink(path);
	fd = listener(path);
	setenv("NOTIFY_SOCKET", path, 1);
	n = notify_open();
	ok(n != NULL, "a socket path: a notifier");
	ok(getenv("NOTIFY_SOCKET") == NULL, "... NOTIFY_SOCKET is unset");
	snprintf(pid, sizeof(pid), "MAINPID=%ld\n", (long)getpid());
	notify_ready(n, "serving");
	received(fd, "READY=1\nSTATUS=serving\n", "notify_ready: READY=1, STATUS=");
	notify_ready(n, "x");
	received(fd, pid, "... and MAINPID= our pid");
	notify_reloading(n, "reloading");
	received(fd, "RELOADING=1\nMONOTONIC_USEC=", "notify_reloading: RELOADING=1, MONOTONIC_USEC=");
	notify_stopping(n, "bye");
	received(fd, "STOPPING=1\nSTATUS=bye\n", "notify_stopping: STOPPING=1, STATUS=");
	notify_free(n);
	close(fd);
	unlink(path);

	snprintf(abs, sizeof(abs), "@dpnotify-test-%ld", (long)getpid());
	fd = listener(abs);
	setenv("NOTIFY_SOCKET", abs, 1);
	n = notify_open();
	notify_ready(n, "abstract");
	received(fd, "READY=1\nSTATUS=abstract\n", "an abstract socket (@name): READY=1");
	notify_free(n);
	close(fd);

	/* Nobody listens: sending is harmless. */
	setenv("NOTIFY_SOCKET", "/nonexistent/dp.sock", 1);
	n = notify_open();
	notify_ready(n, "nobody");
	ok(n != NULL, "a socket nobody binds: sending does no harm");
	notify_free(n);
	notify_free(NULL);
	notify_ready(NULL, "none");
}

int
main(void)
{
	test_notify();
	return done_testing();
}
