// A connection accepted by hand, as a framework would hand it to sse::upgrade:
// the test's client end, and the server end on an io_context of its own.
//
//   sse_test::accepted_connection conn;
//   auto s = sse::upgrade(std::move(conn.socket), sse::request{}, joe);
//   conn.ioc.run_for(...);                       // or poll() from the test's thread
//   REQUIRE(conn.client->read_until("data: 1\n\n"));
#ifndef SSE_TESTS_SUPPORT_ACCEPTED_HPP
#define SSE_TESTS_SUPPORT_ACCEPTED_HPP

#include "sse_test.hpp"
#include "support/loopback.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <memory>

namespace sse_test {

struct accepted_connection {
    asio::io_context ioc;
    asio::ip::tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
    std::unique_ptr<test_client> client;
    asio::ip::tcp::socket socket{ioc};

    explicit accepted_connection(int receive_buffer = 0)
        : client(std::make_unique<test_client>(acceptor.local_endpoint().port(), receive_buffer)) {
        REQUIRE(client->connected());
        acceptor.accept(socket); // returns at once: the connection is in the backlog
    }
};

} // namespace sse_test

#endif
