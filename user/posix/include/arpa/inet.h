#ifndef POSIX_ARPA_INET_H
#define POSIX_ARPA_INET_H

#include <netinet/in.h>

int inet_pton(int af, const char *src, void *dst);

#endif
