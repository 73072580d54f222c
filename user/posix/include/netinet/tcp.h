#ifndef POSIX_NETINET_TCP_H
#define POSIX_NETINET_TCP_H

#define TCP_NODELAY 1

#endif
