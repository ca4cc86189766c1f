// Test peers in other processes: a Node server from tests/peers/ (or any program that prints its
// port on stdout), started for one test and always stopped at its end (RAII), plus a small
// blocking HTTP/1.0 client with a deadline for their control endpoints, and just enough JSON to
// read their answers.
//
//   SSE_TEST_NEED_NODE();                       // fails (or skips, SSE_TEST_WITHOUT=node) without node
//   sse_test::child_process peer = sse_test::start_node_peer("misbehaving-server.mjs");
//   auto r = sse_test::http_fetch(peer.port(), "GET", "/log");
//
// A peer's stdin is a pipe the test holds: when the test process ends, however it ends, the peer
// sees its stdin close and exits.
#ifndef SSE_TESTS_SUPPORT_NODE_PEER_HPP
#define SSE_TESTS_SUPPORT_NODE_PEER_HPP

#include "sse_test.hpp"

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace sse_test {

/// The node found at configure time (SSE_NODE_EXECUTABLE), if it is still there.
inline std::string node_executable() {
#ifdef SSE_NODE_EXECUTABLE
    const std::string path = SSE_NODE_EXECUTABLE;
    if (!path.empty() && ::access(path.c_str(), X_OK) == 0) return path;
#endif
    return {};
}

/// Where the Node peers live.
inline std::string peers_dir() { return std::string(SSE_TESTS_DIR) + "/peers"; }

/// A child process with its stdin and stdout on pipes; stopped and reaped on destruction.
class child_process {
public:
    child_process() = default;

    /// Starts `argv[0]` (a path) with the arguments; throws std::runtime_error if it can't.
    /// With `die_with_parent`, the kernel kills the child when the thread that started it ends
    /// (a crashed test leaves no server behind, even one that ignores its stdin).
    explicit child_process(const std::vector<std::string>& argv, bool die_with_parent = false) {
        int in[2] = {-1, -1}, out[2] = {-1, -1};
        if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
            close_all({in[0], in[1], out[0], out[1]});
            throw std::runtime_error("pipe2 failed");
        }
        if (die_with_parent) {
            std::vector<char*> args;
            for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            const pid_t parent = ::getpid();
            pid_ = ::fork();
            if (pid_ == 0) { // only async-signal-safe calls until exec
                ::prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (::getppid() != parent) ::_exit(127);
                ::dup2(in[0], 0);
                ::dup2(out[1], 1);
                ::execv(args[0], args.data());
                ::_exit(127);
            }
            ::close(in[0]);
            ::close(out[1]);
            if (pid_ < 0) {
                pid_ = -1;
                close_all({in[1], out[0]});
                throw std::runtime_error("cannot start " + argv[0] + ": fork failed");
            }
            in_ = in[1];
            out_ = out[0];
            return;
        }
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        std::vector<char*> args;
        for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        const int rc = ::posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        ::close(in[0]);
        ::close(out[1]);
        if (rc != 0) {
            pid_ = -1;
            close_all({in[1], out[0]});
            throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
        }
        in_ = in[1];
        out_ = out[0];
    }

    child_process(child_process&& o) noexcept { *this = std::move(o); }
    child_process& operator=(child_process&& o) noexcept {
        if (this != &o) {
            stop();
            pid_ = std::exchange(o.pid_, -1);
            in_ = std::exchange(o.in_, -1);
            out_ = std::exchange(o.out_, -1);
            buffered_ = std::move(o.buffered_);
            port_ = o.port_;
            first_line_ = std::move(o.first_line_);
            lines_ = std::move(o.lines_);
        }
        return *this;
    }
    ~child_process() { stop(); }

    /// The next line on the child's stdout (without the LF), or nothing by the deadline or at its end.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (true) {
            if (const std::size_t nl = buffered_.find('\n'); nl != std::string::npos) {
                std::string line = buffered_.substr(0, nl);
                buffered_.erase(0, nl + 1);
                return line;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
            if (left.count() <= 0 || out_ < 0) return std::nullopt;
            pollfd p{out_, POLLIN, 0};
            const int r = ::poll(&p, 1, static_cast<int>(left.count()));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return std::nullopt;
            char buf[512];
            const ssize_t n = ::read(out_, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return std::nullopt;
            buffered_.append(buf, static_cast<std::size_t>(n));
        }
    }

    /// Ends the child: closes its stdin, asks it to stop (SIGTERM), and kills it if it is still
    /// there after `grace`.
    void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000)) {
        close_all({std::exchange(in_, -1)});
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            const auto until = std::chrono::steady_clock::now() + grace;
            bool reaped = false;
            while (std::chrono::steady_clock::now() < until) {
                int status = 0;
                const pid_t r = ::waitpid(pid_, &status, WNOHANG);
                if (r == pid_ || (r < 0 && errno != EINTR)) {
                    reaped = true;
                    break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(5)); // reaping, not synchronizing a test
            }
            if (!reaped) {
                ::kill(pid_, SIGKILL);
                int status = 0;
                while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
                }
            }
            pid_ = -1;
        }
        close_all({std::exchange(out_, -1)});
    }

    /// Kills the child at once with SIGKILL (no cleanup: as a crash or the OOM killer would) and
    /// reaps it.
    void kill_now() {
        close_all({std::exchange(in_, -1)});
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
            }
            pid_ = -1;
        }
        close_all({std::exchange(out_, -1)});
    }

    bool running() const noexcept { return pid_ > 0; }
    pid_t pid() const noexcept { return pid_; }

    /// The port and the other start-up lines a peer printed (see start_peer).
    unsigned short port() const noexcept { return port_; }
    /// The line that named the port, and the `extra_lines` after it.
    const std::string& first_line() const noexcept { return first_line_; }
    const std::vector<std::string>& startup_lines() const noexcept { return lines_; }

private:
    friend child_process start_peer(std::vector<std::string>, std::size_t, std::chrono::milliseconds);

    static void close_all(std::initializer_list<int> fds) noexcept {
        for (int fd : fds)
            if (fd >= 0) ::close(fd);
    }

    pid_t pid_ = -1;
    int in_ = -1;
    int out_ = -1;
    std::string buffered_;
    unsigned short port_ = 0;
    std::string first_line_;
    std::vector<std::string> lines_;
};

/// Starts a peer whose first stdout line holds its port (the number after "127.0.0.1:", else the
/// first number on that line) and
/// which prints `extra_lines` more lines; fails the test if it does not do so within `timeout` (a
/// bound for a hang: an ASan demo_server at nice 19 on a loaded 2-core machine took over 20 s).
inline child_process start_peer(std::vector<std::string> argv, std::size_t extra_lines = 0,
                                std::chrono::milliseconds timeout = std::chrono::milliseconds(120000)) {
    child_process c(argv);
    const std::optional<std::string> first = c.read_line(timeout);
    INFO("peer: " << argv.at(argv.size() > 1 ? 1 : 0));
    REQUIRE(first.has_value());
    // "12345", or a line such as "listening on http://127.0.0.1:12345/ (...)".
    const std::size_t host = first->find("127.0.0.1:");
    const std::size_t begin = host == std::string::npos ? first->find_first_of("0123456789") : host + 10;
    REQUIRE(begin < first->size());
    const std::size_t end = first->find_first_not_of("0123456789", begin);
    REQUIRE(end != begin);
    const unsigned long port = std::stoul(first->substr(begin, end - begin));
    REQUIRE(port > 0);
    REQUIRE(port < 65536);
    c.port_ = static_cast<unsigned short>(port);
    c.first_line_ = *first;
    for (std::size_t i = 0; i < extra_lines; ++i) {
        std::optional<std::string> line = c.read_line(timeout);
        REQUIRE(line.has_value());
        c.lines_.push_back(std::move(*line));
    }
    return c;
}

/// Starts tests/peers/<script> with node (see SSE_TEST_NEED_NODE).
inline child_process start_node_peer(const std::string& script, std::vector<std::string> args = {},
                                     std::size_t extra_lines = 0) {
    std::vector<std::string> argv{node_executable(), peers_dir() + "/" + script, "--lifetime", "120"};
    for (std::string& a : args) argv.push_back(std::move(a));
    return start_peer(std::move(argv), extra_lines);
}

/// The answer of http_fetch.
struct http_answer {
    unsigned status = 0;
    std::string head;
    std::string body;
};

/// One blocking HTTP/1.0 request to 127.0.0.1:port (the answer is read to the connection's
/// end, so no chunked coding); throws std::runtime_error past the deadline.
inline http_answer http_fetch(unsigned short port, std::string_view method, std::string_view target,
                              std::string_view body = {}, std::vector<std::pair<std::string, std::string>> headers = {},
                              std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
    asio::io_context ioc;
    asio::ip::tcp::socket s(ioc);
    std::string out = std::string(method) + " " + std::string(target) + " HTTP/1.0\r\nHost: 127.0.0.1:" +
                      std::to_string(port) + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
    out += "\r\n";
    out += body;
    std::string in;
    std::error_code result = asio::error::timed_out;
    bool done = false;
    s.async_connect({asio::ip::make_address("127.0.0.1"), port}, [&](std::error_code ec) {
        if (ec) {
            result = ec;
            done = true;
            return;
        }
        asio::async_write(s, asio::buffer(out), [&](std::error_code wec, std::size_t) {
            if (wec) {
                result = wec;
                done = true;
                return;
            }
            asio::async_read(s, asio::dynamic_buffer(in), [&](std::error_code rec, std::size_t) {
                result = rec == asio::error::eof ? std::error_code() : rec;
                done = true;
            });
        });
    });
    ioc.run_for(timeout);
    if (!done || result)
        throw std::runtime_error("http_fetch " + std::string(target) + ": " + (done ? result.message() : "timed out"));
    http_answer a;
    const std::size_t end = in.find("\r\n\r\n");
    if (in.rfind("HTTP/1.", 0) != 0 || end == std::string::npos || in.size() < 12)
        throw std::runtime_error("http_fetch " + std::string(target) + ": not an HTTP response");
    a.status = static_cast<unsigned>(std::stoul(in.substr(9, 3)));
    a.head = in.substr(0, end);
    a.body = in.substr(end + 4);
    return a;
}

/// Appends the UTF-8 encoding of code point `cp`.
inline void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

/// Decodes the JSON string starting at `s[at]` (the opening quote); `at` ends past the closing
/// quote. Handles every JSON escape, surrogate pairs included. Nothing if it is not a string.
inline std::optional<std::string> json_string_at(std::string_view s, std::size_t& at) {
    if (at >= s.size() || s[at] != '"') return std::nullopt;
    std::string out;
    auto hex4 = [&](std::size_t i) -> std::optional<std::uint32_t> {
        if (i + 4 > s.size()) return std::nullopt;
        std::uint32_t v = 0;
        for (std::size_t k = i; k < i + 4; ++k) {
            const char c = s[k];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
            else return std::nullopt;
        }
        return v;
    };
    for (std::size_t i = at + 1; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '"') {
            at = i + 1;
            return out;
        }
        if (c != '\\') {
            out += c;
            continue;
        }
        if (++i >= s.size()) return std::nullopt;
        switch (s[i]) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
            auto v = hex4(i + 1);
            if (!v) return std::nullopt;
            i += 4;
            std::uint32_t cp = *v;
            if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < s.size() && s[i + 1] == '\\' && s[i + 2] == 'u') {
                auto lo = hex4(i + 3);
                if (lo && *lo >= 0xDC00 && *lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (*lo - 0xDC00);
                    i += 6;
                }
            }
            append_utf8(out, cp);
            break;
        }
        default: return std::nullopt;
        }
    }
    return std::nullopt;
}

/// The string value of the first `"key":"..."` in a JSON text (at any depth; enough for the
/// peers' flat answers), decoded; nothing if absent or not a string.
inline std::optional<std::string> json_string_field(std::string_view json, std::string_view key) {
    const std::string pattern = "\"" + std::string(key) + "\":";
    const std::size_t k = json.find(pattern);
    if (k == std::string_view::npos) return std::nullopt;
    std::size_t at = k + pattern.size();
    return json_string_at(json, at);
}

/// The number value of the first `"key":number` in a JSON text.
inline std::optional<double> json_number_field(std::string_view json, std::string_view key) {
    const std::string pattern = "\"" + std::string(key) + "\":";
    const std::size_t k = json.find(pattern);
    if (k == std::string_view::npos) return std::nullopt;
    const std::size_t at = k + pattern.size();
    const std::size_t end = json.find_first_not_of("-+.0123456789eE", at);
    if (end == at) return std::nullopt;
    return std::stod(std::string(json.substr(at, end - at)));
}

/// The lines of a text (the last one need not end with LF; empty lines are skipped).
inline std::vector<std::string> split_lines(std::string_view s) {
    std::vector<std::string> out;
    while (!s.empty()) {
        const std::size_t nl = s.find('\n');
        if (nl != 0) out.emplace_back(s.substr(0, nl));
        if (nl == std::string_view::npos) break;
        s.remove_prefix(nl + 1);
    }
    return out;
}

/// One request a peer logged (GET /log: one JSON object a line).
struct logged_request {
    std::string method, path, url, body, json;
    double t = 0; // ms
    std::optional<std::string> header(std::string_view lower_case_name) const {
        const std::size_t h = json.find("\"headers\":{");
        if (h == std::string::npos) return std::nullopt;
        return json_string_field(std::string_view(json).substr(h), lower_case_name);
    }
};

/// The requests a peer saw on `path` (all paths if empty), in order.
inline std::vector<logged_request> peer_log(unsigned short port, std::string_view path = {}) {
    const http_answer a = http_fetch(port, "GET", path.empty() ? std::string("/log") : "/log?path=" + std::string(path));
    std::vector<logged_request> out;
    for (std::string& line : split_lines(a.body)) {
        logged_request r;
        r.method = json_string_field(line, "method").value_or("");
        r.path = json_string_field(line, "path").value_or("");
        r.url = json_string_field(line, "url").value_or("");
        r.body = json_string_field(line, "body").value_or("");
        r.t = json_number_field(line, "t").value_or(0);
        r.json = std::move(line);
        out.push_back(std::move(r));
    }
    return out;
}

} // namespace sse_test

/// Fails the test if node is not installed, or skips the rest of it if SSE_TEST_WITHOUT names node.
#define SSE_TEST_NEED_NODE()                                                                                 \
    do {                                                                                                     \
        if (::sse_test::node_executable().empty())                                                          \
            SSE_SKIP("node", "node was not found at configure time: this test needs a Node peer from "     \
                             "tests/peers/ (install Node.js and re-run CMake)");                            \
    } while (false)

#endif
