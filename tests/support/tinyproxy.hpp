// A real HTTP proxy for the client's proxy tests: tinyproxy (Debian `tinyproxy`), started by the
// test on a free loopback port with a config written for it, stopped (or killed, as a crash
// would) by the test, and started again on the same port.
//
//   SSE_TEST_NEED_TINYPROXY();                   // fails (or skips, if opted out) without tinyproxy
//   sse_test::tinyproxy proxy({.basic_auth = "user s3cret"});
//   cfg.proxy = proxy.url("user:s3cret");        // http://user:s3cret@127.0.0.1:PORT
//
// Without tinyproxy those tests fail, unless SSE_TEST_WITHOUT names tinyproxy.
#ifndef SSE_TESTS_SUPPORT_TINYPROXY_HPP
#define SSE_TESTS_SUPPORT_TINYPROXY_HPP

#include "support/node_peer.hpp"

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include <unistd.h>

namespace sse_test {

/// A port on 127.0.0.1 that was free a moment ago.
inline unsigned short free_proxy_port() {
    asio::io_context ioc;
    asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

inline std::string tinyproxy_executable() {
#ifdef SSE_TINYPROXY_EXECUTABLE
    const std::string path = SSE_TINYPROXY_EXECUTABLE;
    if (!path.empty() && ::access(path.c_str(), X_OK) == 0) return path;
#endif
    return {};
}

struct tinyproxy_options {
    std::string basic_auth{};   ///< "user password": every request needs these credentials (else 407)
    std::string connect_port{}; ///< the only port CONNECT may reach (others: 403); empty: any
    bool deny_all = false;      ///< refuse every client (403)
};

/// A tinyproxy process on 127.0.0.1 (its port stays the same across restart()).
class tinyproxy {
public:
    explicit tinyproxy(tinyproxy_options o = {}) : port_(free_proxy_port()) {
        config_ = "/tmp/sse-test-tinyproxy-" + std::to_string(::getpid()) + "-" + std::to_string(port_) + ".conf";
        std::ofstream f(config_);
        f << "Port " << port_ << "\nListen 127.0.0.1\nTimeout 30\nMaxClients 50\nLogLevel Critical\n";
        f << "Allow " << (o.deny_all ? "10.255.255.254" : "127.0.0.1") << "\n";
        if (!o.basic_auth.empty()) f << "BasicAuth " << o.basic_auth << "\n";
        if (!o.connect_port.empty()) f << "ConnectPort " << o.connect_port << "\n";
        f.close();
        start();
    }
    ~tinyproxy() {
        process_.kill_now();
        std::remove(config_.c_str());
    }
    tinyproxy(const tinyproxy&) = delete;
    tinyproxy& operator=(const tinyproxy&) = delete;

    unsigned short port() const noexcept { return port_; }
    /// The proxy URL, with user info if given ("user:password").
    std::string url(const std::string& userinfo = {}) const {
        return "http://" + (userinfo.empty() ? "" : userinfo + "@") + "127.0.0.1:" + std::to_string(port_);
    }

    /// Dies at once, as a crash would: every connection through it breaks.
    void kill() { process_.kill_now(); }

    /// Starts it (again) on the same port; throws if it does not accept connections within 10 s.
    void start() {
        const std::string exe = tinyproxy_executable();
        if (exe.empty()) throw std::runtime_error("tinyproxy is not installed");
        process_ = child_process({exe, "-d", "-c", config_}, /*die_with_parent=*/true);
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < until) {
            if (accepts()) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        throw std::runtime_error("tinyproxy did not start on port " + std::to_string(port_));
    }

private:
    bool accepts() const {
        asio::io_context ioc;
        asio::ip::tcp::socket s(ioc);
        std::error_code ec;
        s.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
        return !ec;
    }

    unsigned short port_;
    std::string config_;
    child_process process_;
};

} // namespace sse_test

/// Fails the test if tinyproxy is not installed, or skips the rest of it if SSE_TEST_WITHOUT names tinyproxy.
#define SSE_TEST_NEED_TINYPROXY()                                                                          \
    do {                                                                                                   \
        if (::sse_test::tinyproxy_executable().empty())                                                    \
            SSE_SKIP("tinyproxy", "tinyproxy is not installed (or was not found at configure time): "      \
                                  "install it (Debian: tinyproxy) and re-run CMake");                      \
    } while (false)

#endif
