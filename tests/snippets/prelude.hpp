// What the ```cpp blocks of README.md and docs/*.md are compiled with (tests/snippets/extract.cmake
// turns them into one translation unit, sse_snippets, built with the tests).
//
// Every block sees the library's headers below (sse/ssl.hpp only if the block includes it) and
// the standard headers. A block that uses a name it does not declare says so in its marker,
// `<!-- snippet: statements, given ioc server -->`, and each such name is declared here by a
// `// @given NAME: DECLARATION` line, which the generator copies in front of the block. The
// blocks are compiled, never linked, so the givens are declarations only.
#ifndef SSE_TESTS_SNIPPETS_PRELUDE_HPP
#define SSE_TESTS_SNIPPETS_PRELUDE_HPP

#include <sse/client.hpp>
#include <sse/server.hpp>
#include <sse/session.hpp>
#include <sse/sse.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <atomic>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

// Things a program has around the code a block shows.
// @given ioc: extern asio::io_context ioc;
// @given server: extern sse::server server;
// @given joe: extern sse::joe joe;
// @given conn: extern sse::connection conn;
// @given req: extern sse::request req;
// @given m: extern sse::message m;
// @given socket: extern asio::ip::tcp::socket socket;
// @given parser: extern sse::parser parser;
// @given bytes: extern std::string_view bytes;
// @given response_body: extern std::string response_body;
// @given user_input: extern std::string user_input;
// @given key: extern std::string key;
// What a block does with what it gets.
// @given handle: void handle(std::string_view data);
// @given print: void print(std::string_view text);
// @given report: void report(std::error_code ec);

#endif
