/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Shared by the unit tests that play clients: a socket address from text.
 * Include after <cmocka.h>: it asserts.
 */
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* "192.0.2.1" or "2001:db8::1" (port 0). */
static inline struct sockaddr_storage test_sockaddr(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &a->sin_addr), 1);
	}
	return ss;
}
