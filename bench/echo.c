/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A UDP "DNS server" that does no DNS: it turns each query around (sets QR)
 * and sends it back. It is the benchmark's floor: what the kernel's UDP path
 * and the syscalls cost per query on this machine, with the same socket
 * layout a real server uses (one SO_REUSEPORT socket per worker thread,
 * recvmmsg/sendmmsg in batches). Built by bench/run.py into bench/out/.
 *
 *   echo PORT [THREADS]        listens on 127.0.0.1:PORT; SIGTERM stops it
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 32
#define BUFSZ 1232

static int port;

static void *worker(void *arg)
{
	(void)arg;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa)) {
		perror("echo: socket/bind");
		exit(1);
	}
	static __thread unsigned char buf[BATCH][BUFSZ];
	static __thread struct sockaddr_in from[BATCH];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	for (;;) {
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ buf[i], BUFSZ };
			msg[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof from[i],
							  .msg_iov = &iov[i], .msg_iovlen = 1 };
		}
		int n = recvmmsg(fd, msg, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (msg[i].msg_len >= 12)
				buf[i][2] |= 0x80;   /* QR */
			iov[i].iov_len = msg[i].msg_len;
		}
		sendmmsg(fd, msg, n, 0);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: echo PORT [THREADS]\n");
		return 2;
	}
	port = atoi(argv[1]);
	int n = argc > 2 ? atoi(argv[2]) : 2;
	pthread_t t;
	for (int i = 1; i < n; i++)
		pthread_create(&t, NULL, worker, NULL);
	worker(NULL);
	return 0;
}
