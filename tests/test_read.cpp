// sse/read.hpp: sse::read over a std::istream, real Asio SyncReadStreams (a
// loopback TCP socket and a pipe), and whole texts; the range's concepts; and
// its errors (thrown, or in an error_code after the earlier events).
//
// Nothing here sleeps to synchronize. Every thread is joined; every socket
// read is bounded by a watchdog that shuts the sockets down if a test hangs
// (a timed wait on a condition variable, never fired when all goes well).
#include "sse_test.hpp"

#include <sse/error.hpp>
#include <sse/event.hpp>
#include <sse/parser.hpp>
#include <sse/read.hpp>

#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/socket_base.hpp>
#include <asio/write.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <future>
#include <istream>
#include <mutex>
#include <ranges>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

// Runs `on_expiry` on its own thread if it is not destroyed within `limit`.
class watchdog {
public:
    watchdog(std::chrono::seconds limit, std::function<void()> on_expiry)
        : thread_([this, limit, on_expiry = std::move(on_expiry)] {
              std::unique_lock lock(mutex_);
              if (!done_cv_.wait_for(lock, limit, [this] { return done_; })) {
                  fired_ = true;
                  on_expiry();
              }
          }) {}
    watchdog(const watchdog&) = delete;
    watchdog& operator=(const watchdog&) = delete;
    ~watchdog() {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        done_cv_.notify_all();
        thread_.join();
    }
    bool fired() {
        std::lock_guard lock(mutex_);
        return fired_;
    }

private:
    std::mutex mutex_;
    std::condition_variable done_cv_;
    bool done_ = false;
    bool fired_ = false;
    std::thread thread_; // last: starts after the rest is ready
};

// A connected loopback TCP pair: `reader` (client side) and `writer` (accepted).
struct tcp_pair {
    asio::io_context io;
    asio::ip::tcp::socket reader{io};
    asio::ip::tcp::socket writer{io};

    tcp_pair() {
        asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
        reader.connect(acceptor.local_endpoint()); // completes from the listen backlog
        acceptor.accept(writer);
    }

    // Shuts both down at the OS level: any blocked read or write returns.
    std::function<void()> unblocker() {
        const int a = reader.native_handle();
        const int b = writer.native_handle();
        return [a, b] {
            ::shutdown(a, SHUT_RDWR);
            ::shutdown(b, SHUT_RDWR);
        };
    }
};

// Writes `bytes` to `s` in pieces of 1, 2, ... 7 bytes, then shuts the send side
// down (the reader sees end of input) unless told to keep it open.
void write_in_pieces(asio::ip::tcp::socket& s, std::string_view bytes) {
    std::size_t at = 0;
    std::size_t piece = 1;
    std::error_code ec;
    while (at < bytes.size() && !ec) {
        const std::size_t n = std::min(piece, bytes.size() - at);
        asio::write(s, asio::buffer(bytes.data() + at, n), ec);
        at += n;
        piece = piece % 7 + 1;
    }
    s.shutdown(asio::socket_base::shutdown_send, ec);
    s.close(ec);
}

// A pipe read through an asio::posix::stream_descriptor; the write end is a plain fd.
struct pipe_pair {
    asio::io_context io;
    asio::posix::stream_descriptor reader{io};
    int write_fd = -1;

    pipe_pair() {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        reader.assign(fds[0]);
        write_fd = fds[1];
    }
    ~pipe_pair() {
        if (write_fd >= 0) ::close(write_fd);
    }
};

// Writes `bytes` to the pipe in small pieces and closes it. The stream stays
// well under the pipe's capacity, so this never blocks, even if nobody reads.
void write_pipe_in_pieces(int fd, std::string_view bytes) {
    REQUIRE(bytes.size() < 4096);
    std::size_t at = 0;
    std::size_t piece = 1;
    while (at < bytes.size()) {
        const std::size_t n = std::min(piece, bytes.size() - at);
        const ssize_t w = ::write(fd, bytes.data() + at, n);
        if (w <= 0) break;
        at += static_cast<std::size_t>(w);
        piece = piece % 5 + 1;
    }
    ::close(fd);
}

const std::string sample_stream = "retry: 1000\n"
                                  ": a comment\n"
                                  "id: 1\ndata: first\r\n\r\n"
                                  "event: update\ndata: second\ndata: line\n\n"
                                  "\xEF\xBB\xBF" "data: not a BOM here: unknown field\n\n"
                                  "id:\ndata: third\n\n"
                                  "data: unterminated last event";

const std::vector<sse::event> sample_events = {
    {"message", "first", "1"},
    {"update", "second\nline", "1"},
    {"message", "third", ""},
};

template <class Range>
std::vector<sse::event> collect(Range&& r) {
    std::vector<sse::event> out;
    for (const sse::event& e : r) out.push_back(e);
    return out;
}

} // namespace

// ------------------------------------------------------------------------------------------------
// Types

TEST_CASE("read: the result is an input range of owning sse::event for every kind of source") {
    using from_istream = decltype(sse::read(std::declval<std::istringstream&>()));
    using from_socket = decltype(sse::read(std::declval<asio::ip::tcp::socket&>()));
    using from_pipe = decltype(sse::read(std::declval<asio::posix::stream_descriptor&>()));
    using from_view = decltype(sse::read(std::declval<std::string_view>()));
    using from_string = decltype(sse::read(std::declval<std::string>()));
    using from_ec = decltype(sse::read(std::declval<std::istringstream&>(), std::declval<std::error_code&>()));
    STATIC_REQUIRE(std::ranges::input_range<from_istream>);
    STATIC_REQUIRE(std::ranges::input_range<from_socket>);
    STATIC_REQUIRE(std::ranges::input_range<from_pipe>);
    STATIC_REQUIRE(std::ranges::input_range<from_view>);
    STATIC_REQUIRE(std::ranges::input_range<from_string>);
    STATIC_REQUIRE(std::ranges::input_range<from_ec>);
    STATIC_REQUIRE(std::ranges::view<from_view>);
    STATIC_REQUIRE(std::is_same_v<std::ranges::range_value_t<from_socket>, sse::event>);
    STATIC_REQUIRE(std::is_same_v<std::ranges::range_reference_t<from_view>, sse::event&>);
    STATIC_REQUIRE(sse::sync_read_stream<asio::ip::tcp::socket>);
    STATIC_REQUIRE(sse::sync_read_stream<asio::posix::stream_descriptor>);
    STATIC_REQUIRE_FALSE(sse::sync_read_stream<std::istringstream>);
}

TEST_CASE("read: the default options") {
    const sse::read_options o;
    CHECK(o.max_event_size == sse::parser::default_max_event_size);
    CHECK(o.buffer_size == 16 * 1024);
}

// ------------------------------------------------------------------------------------------------
// Sources

TEST_CASE("read: a std::istringstream") {
    std::istringstream is(sample_stream);
    CHECK(collect(sse::read(is)) == sample_events);
}

TEST_CASE("read: a std::istringstream through a tiny buffer") {
    std::istringstream is(sample_stream);
    sse::read_options o;
    o.buffer_size = 1;
    std::error_code ec;
    CHECK(collect(sse::read(is, ec, o)) == sample_events);
    CHECK_FALSE(ec);
}

TEST_CASE("read: a whole std::string_view, a string literal and an lvalue std::string") {
    const std::string text = sample_stream;
    CHECK(collect(sse::read(std::string_view(text))) == sample_events);
    CHECK(collect(sse::read(text)) == sample_events);
    CHECK(collect(sse::read("data: literal\n\n")) == std::vector<sse::event>{{"message", "literal", ""}});
}

TEST_CASE("read: an rvalue std::string is owned by the range") {
    std::string text = sample_stream;
    auto events = sse::read(std::move(text));
    text.assign(sample_stream.size(), 'X'); // the moved-from original is reused: the range has its own
    CHECK(collect(events) == sample_events);
    // Directly in a range-for, the temporary lives as long as the loop.
    std::size_t n = 0;
    for (const sse::event& e : sse::read(std::string("data: a\n\ndata: b\n\n"))) n += e.data.size();
    CHECK(n == 2);
}

TEST_CASE("read: a loopback TCP socket written in small pieces by another thread") {
    tcp_pair tcp;
    watchdog dog(30s, tcp.unblocker());
    std::thread writer([&] { write_in_pieces(tcp.writer, sample_stream); });
    std::error_code ec;
    const std::vector<sse::event> got = collect(sse::read(tcp.reader, ec));
    writer.join();
    CHECK_FALSE(ec);
    CHECK(got == sample_events);
    CHECK_FALSE(dog.fired());
}

TEST_CASE("read: many events over TCP, read through a small buffer") {
    std::string stream;
    std::vector<sse::event> want;
    for (int i = 0; i < 300; ++i) {
        stream += "id: " + std::to_string(i) + "\ndata: event " + std::to_string(i) + "\n\n";
        want.emplace_back("message", "event " + std::to_string(i), std::to_string(i));
    }
    tcp_pair tcp;
    watchdog dog(30s, tcp.unblocker());
    std::thread writer([&] { write_in_pieces(tcp.writer, stream); });
    sse::read_options o;
    o.buffer_size = 5;
    auto events = sse::read(tcp.reader, o);
    const std::vector<sse::event> got = collect(events);
    writer.join();
    CHECK(got == want);
    CHECK(events.last_event_id() == "299");
    CHECK_FALSE(dog.fired());
}

TEST_CASE("read: a pipe through asio::posix::stream_descriptor") {
    pipe_pair pipe;
    const int fd = std::exchange(pipe.write_fd, -1); // the writer thread closes it
    std::thread writer([fd] { write_pipe_in_pieces(fd, sample_stream); });
    std::error_code ec;
    const std::vector<sse::event> got = collect(sse::read(pipe.reader, ec));
    writer.join();
    CHECK_FALSE(ec);
    CHECK(got == sample_events);
}

TEST_CASE("read: the iterator gives each event in turn; the range knows the last event id") {
    auto events = sse::read(std::string_view("id: 7\ndata: a\n\ndata: b\n\nid: 8\n\n"));
    auto it = events.begin();
    REQUIRE(it != events.end());
    CHECK(it->data == "a");
    CHECK((*it).last_event_id == "7");
    ++it;
    REQUIRE(it != events.end());
    CHECK(it->data == "b");
    it++;
    CHECK(it == events.end());
    CHECK(events.last_event_id() == "8"); // the id-only block at the end is committed
}

TEST_CASE("read: an event can be moved out and kept") {
    std::vector<sse::event> kept;
    for (sse::event& e : sse::read(std::string_view("data: a\n\ndata: b\n\n"))) kept.push_back(std::move(e));
    CHECK(kept == std::vector<sse::event>{{"message", "a", ""}, {"message", "b", ""}});
}

// ------------------------------------------------------------------------------------------------
// With views

TEST_CASE("read: std::views::take stops after the first events") {
    std::string stream;
    for (int i = 0; i < 100; ++i) stream += "data: " + std::to_string(i) + "\n\n";

    std::istringstream is(stream);
    std::vector<std::string> got;
    for (const sse::event& e : sse::read(is) | std::views::take(2)) got.push_back(e.data);
    CHECK(got == std::vector<std::string>{"0", "1"});

    got.clear();
    for (const sse::event& e : sse::read(std::string_view(stream)) | std::views::take(3)) got.push_back(e.data);
    CHECK(got == std::vector<std::string>{"0", "1", "2"});

    // With other views.
    got.clear();
    auto named = sse::read(std::string_view("event: a\ndata: 1\n\ndata: 2\n\nevent: a\ndata: 3\n\n")) |
                 std::views::filter([](const sse::event& e) { return e.type == "a"; }) |
                 std::views::transform([](const sse::event& e) { return e.data; });
    for (const std::string& d : named) got.push_back(d);
    CHECK(got == std::vector<std::string>{"1", "3"});
}

TEST_CASE("read: std::views::take over a TCP stream that has more events") {
    tcp_pair tcp;
    watchdog dog(30s, tcp.unblocker());
    std::string stream;
    for (int i = 0; i < 20; ++i) stream += "data: " + std::to_string(i) + "\n\n"; // fits in the socket buffers
    std::thread writer([&] { write_in_pieces(tcp.writer, stream); });
    std::vector<std::string> got;
    for (const sse::event& e : sse::read(tcp.reader) | std::views::take(2)) got.push_back(e.data);
    writer.join();
    CHECK(got == std::vector<std::string>{"0", "1"});
    CHECK_FALSE(dog.fired());
}

// ------------------------------------------------------------------------------------------------
// End of input and errors

TEST_CASE("read: an unterminated last event is dropped at the end, without error") {
    for (const char* text : {"data: a\n\ndata: b", "data: a\n\ndata: b\n", "data: a\n\nid: 5\n", "data: a\n\n"}) {
        CAPTURE(text);
        std::error_code ec = sse::error::timeout; // stale: cleared when reading starts
        auto events = sse::read(std::string_view(text), ec);
        CHECK(collect(events) == std::vector<sse::event>{{"message", "a", ""}});
        CHECK_FALSE(ec);
        CHECK(events.last_event_id().empty()); // the unended block's id is not committed
        CHECK_NOTHROW(collect(sse::read(std::string_view(text))));
    }
    SECTION("over TCP") {
        tcp_pair tcp;
        watchdog dog(30s, tcp.unblocker());
        std::thread writer([&] { write_in_pieces(tcp.writer, "data: a\n\ndata: b"); });
        std::error_code ec;
        const std::vector<sse::event> got = collect(sse::read(tcp.reader, ec));
        writer.join();
        CHECK_FALSE(ec);
        CHECK(got == std::vector<sse::event>{{"message", "a", ""}});
    }
    SECTION("empty input") {
        std::istringstream is("");
        std::error_code ec;
        auto events = sse::read(is, ec);
        CHECK(events.begin() == events.end());
        CHECK_FALSE(ec);
    }
}

TEST_CASE("read: an oversized event is an error; the events before it are all delivered") {
    std::string stream;
    for (int i = 0; i < 5; ++i) stream += "data: small " + std::to_string(i) + "\n\n";
    stream += "data: " + std::string(200, 'x') + "\n\n";
    stream += "data: after\n\n";
    const std::vector<std::string> before = {"small 0", "small 1", "small 2", "small 3", "small 4"};
    sse::read_options o;
    o.max_event_size = 100;

    SECTION("text, error_code form") {
        std::error_code ec;
        std::vector<std::string> got;
        for (const sse::event& e : sse::read(std::string_view(stream), ec, o)) got.push_back(e.data);
        CHECK(got == before);
        CHECK(ec == sse::error::event_too_large);
    }
    SECTION("istream through a small buffer, error_code form") {
        std::istringstream is(stream);
        o.buffer_size = 7;
        std::error_code ec;
        std::vector<std::string> got;
        for (const sse::event& e : sse::read(is, ec, o)) got.push_back(e.data);
        CHECK(got == before);
        CHECK(ec == sse::error::event_too_large);
    }
    SECTION("thrown as std::system_error naming the limit, after the earlier events") {
        std::vector<std::string> got;
        try {
            for (const sse::event& e : sse::read(std::string_view(stream), o)) got.push_back(e.data);
            FAIL("no exception");
        } catch (const std::system_error& e) {
            CHECK(e.code() == sse::error::event_too_large);
            const std::string what = e.what();
            CAPTURE(what);
            CHECK(what.find("100") != std::string::npos);
        }
        CHECK(got == before);
    }
    SECTION("over TCP, both forms") {
        for (int thrown = 0; thrown < 2; ++thrown) {
            CAPTURE(thrown);
            tcp_pair tcp;
            watchdog dog(30s, tcp.unblocker());
            std::thread writer([&] { write_in_pieces(tcp.writer, stream); });
            std::vector<std::string> got;
            std::error_code ec;
            if (thrown) {
                o.max_event_size = 123;
                try {
                    for (const sse::event& e : sse::read(tcp.reader, o)) got.push_back(e.data);
                } catch (const std::system_error& e) {
                    ec = e.code();
                    CHECK(std::string(e.what()).find("123") != std::string::npos);
                }
            } else {
                for (const sse::event& e : sse::read(tcp.reader, ec, o)) got.push_back(e.data);
            }
            writer.join();
            CHECK(got == before);
            CHECK(ec == sse::error::event_too_large);
            CHECK_FALSE(dog.fired());
        }
    }
    SECTION("the default limit lets an 8 MiB event through and stops a bigger one") {
        const std::size_t limit = sse::parser::default_max_event_size;
        const std::string at_limit = "data: " + std::string(limit - 7, 'y') + "\n\n";
        std::size_t size = 0;
        for (const sse::event& e : sse::read(std::string_view(at_limit))) size = e.data.size();
        CHECK(size == limit - 7);
        const std::string over = "data: " + std::string(limit - 6, 'y') + "\n\n";
        std::error_code ec;
        CHECK(collect(sse::read(std::string_view(over), ec)).empty());
        CHECK(ec == sse::error::event_too_large);
    }
}

TEST_CASE("read: a reset connection is reported, not swallowed") {
    for (int thrown = 0; thrown < 2; ++thrown) {
        CAPTURE(thrown);
        tcp_pair tcp;
        watchdog dog(30s, tcp.unblocker());
        std::promise<void> got_first;
        std::thread peer([&] {
            std::error_code ec;
            asio::write(tcp.writer, asio::buffer("data: a\n\n"s), ec);
            // Reset only once the reader has the event, so it has nothing unread when the RST comes.
            if (got_first.get_future().wait_for(30s) != std::future_status::ready) return;
            tcp.writer.set_option(asio::socket_base::linger(true, 0), ec); // close sends RST
            tcp.writer.close(ec);
        });
        std::vector<std::string> got;
        std::error_code ec;
        const auto on_event = [&](const sse::event& e) {
            got.push_back(e.data);
            if (got.size() == 1) got_first.set_value();
        };
        if (thrown) {
            try {
                for (const sse::event& e : sse::read(tcp.reader)) on_event(e);
            } catch (const std::system_error& e) {
                ec = e.code();
            }
        } else {
            for (const sse::event& e : sse::read(tcp.reader, ec)) on_event(e);
        }
        peer.join();
        CHECK(got == std::vector<std::string>{"a"});
        CAPTURE(ec.message());
        CHECK(ec == asio::error::connection_reset); // (Asio's own category: not equal to std::errc's)
        CHECK_FALSE(dog.fired());
    }
}

namespace {

// A stream buffer that serves `text`, then fails as a broken device would.
class failing_buf : public std::streambuf {
public:
    explicit failing_buf(std::string text) : text_(std::move(text)) {
        setg(text_.data(), text_.data(), text_.data() + text_.size());
    }

protected:
    int_type underflow() override { throw std::runtime_error("device failure"); }

private:
    std::string text_;
};

} // namespace

TEST_CASE("read: an istream that goes bad is an I/O error, after the events before it") {
    failing_buf buf("data: a\n\ndata: b\n\ndata: c");
    std::istream is(&buf);
    std::error_code ec;
    std::vector<std::string> got;
    for (const sse::event& e : sse::read(is, ec)) got.push_back(e.data);
    CHECK(got == std::vector<std::string>{"a", "b"});
    CHECK(ec == std::errc::io_error);

    failing_buf buf2("data: a\n\n");
    std::istream is2(&buf2);
    got.clear();
    try {
        for (const sse::event& e : sse::read(is2)) got.push_back(e.data);
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(e.code() == std::errc::io_error);
    }
    CHECK(got == std::vector<std::string>{"a"});
}

TEST_CASE("read: after an error the range is at its end") {
    sse::read_options o;
    o.max_event_size = 10;
    std::error_code ec;
    auto events = sse::read(std::string_view("data: 0123456789\n\ndata: a\n\n"), ec, o);
    CHECK(events.begin() == events.end());
    CHECK(ec == sse::error::event_too_large);
    CHECK(events.begin() == events.end()); // asking again reads nothing more
}
