// Blocking loopback helpers for the network fuzzers (timeouts on every call).
#ifndef SSE_FUZZ_LOOPBACK_HPP
#define SSE_FUZZ_LOOPBACK_HPP

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace fuzz {

inline void set_timeouts(int fd, int ms) {
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// libFuzzer's timeout timer (SIGALRM) interrupts blocking calls now and then: they go on
// after EINTR instead of reporting a failure the code under test did not cause.

inline int connect_to(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) std::abort();
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    set_timeouts(fd, 3000);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        int err = errno;
        if (err == EINTR) { // the connection is still being made: wait for it (bounded)
            pollfd p{fd, POLLOUT, 0};
            int r = 0;
            for (int i = 0; i < 100 && (r = ::poll(&p, 1, 3000)) < 0 && errno == EINTR; ++i) {
            }
            socklen_t len = sizeof err;
            if (r <= 0) err = r == 0 ? ETIMEDOUT : errno;
            else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        }
        if (err != 0) {
            std::fprintf(stderr, "fuzz::connect_to 127.0.0.1:%u: %s\n", unsigned(port), std::strerror(err));
            std::abort();
        }
    }
    return fd;
}

inline bool write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        const ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        s.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// Reads until EOF, an error, a timeout, or `limit` bytes.
inline std::string read_all(int fd, std::size_t limit) {
    std::string out;
    char buf[4096];
    while (out.size() < limit) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

// accept(2), going on after EINTR.
inline int accept_one(int listener) {
    for (;;) {
        const int fd = ::accept(listener, nullptr, nullptr);
        if (fd >= 0 || errno != EINTR) return fd;
    }
}

} // namespace fuzz

#endif
