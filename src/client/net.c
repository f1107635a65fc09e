/*
 * TCP for the blocking clients.  Their sockets are non-blocking and every
 * wait is a poll(2) bounded by a deadline, so that no client hangs on a
 * server that stopped answering.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "client.h"

/* Turn a timeout into a deadline; a negative timeout means none (-1). */
int64_t
net_deadline(int timeout_ms)
{
	if (timeout_ms < 0)
		return (-1);
	return (mono_ms() + timeout_ms);
}

/* Wait for events on fd until deadline: revents, 0 on timeout, -1. */
int
net_wait(int fd, short events, int64_t deadline)
{
	struct pollfd	pfd;
	int64_t		left;
	int		n;

	for (;;) {
		left = -1;
		if (deadline >= 0) {
			left = deadline - mono_ms();
			if (left < 0)
				left = 0;
			if (left > INT_MAX)
				left = INT_MAX;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (n);
		return (pfd.revents);
	}
}

/* Open a non-blocking TCP connection to host:port before deadline. */
int
net_connect(const char *host, int port, int64_t deadline, char **cause)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		 portstr[16], *h;
	socklen_t	 len;
	size_t		 hl;
	int		 fd = -1, r, error = ECONNREFUSED, one = 1, revents;

	h = xstrdup(host);
	hl = strlen(h);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		memmove(h, h + 1, hl - 2);
		h[hl - 2] = '\0';
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof portstr, "%d", port);
	if ((r = getaddrinfo(h, portstr, &hints, &res)) != 0) {
		xasprintf(cause, "%s: %s", host, gai_strerror(r));
		goto out;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			error = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		error = errno;
		if (errno == EINPROGRESS) {
			revents = net_wait(fd, POLLOUT, deadline);
			len = sizeof error;
			if (revents == 0)
				error = ETIMEDOUT;
			else if (revents == -1)
				error = errno;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error,
			    &len) == -1)
				error = errno;
			if (error == 0)
				break;
		}
		close(fd);
		fd = -1;
	}
	if (fd == -1) {
		xasprintf(cause, "cannot connect to %s port %d: %s", host,
		    port, strerror(error));
		goto out;
	}
	/* Latency matters more than packet count to every user of this. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

out:
	if (res != NULL)
		freeaddrinfo(res);
	free(h);
	return (fd);
}

/* Write all of buf before deadline; 0, or -1 with errno set. */
int
net_write(int fd, const void *buf, size_t len, int64_t deadline)
{
	const char	*p = buf;
	ssize_t		 n;
	int		 revents;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EINTR && errno != EAGAIN &&
		    errno != EWOULDBLOCK)
			return (-1);
		if ((revents = net_wait(fd, POLLOUT, deadline)) == 0) {
			errno = ETIMEDOUT;
			return (-1);
		}
		if (revents == -1)
			return (-1);
	}
	return (0);
}
