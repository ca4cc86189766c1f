// The protocol and in-process pub/sub in one include: parser, read, message,
// fields, events, Joe, replayers and sinks. The networking parts have their own
// headers (session.hpp, server.hpp, client.hpp, ssl.hpp), so that code which
// only parses or publishes does not compile Asio's sockets and coroutines.
#ifndef SSE_SSE_HPP
#define SSE_SSE_HPP

#include <sse/error.hpp>
#include <sse/event.hpp>
#include <sse/field.hpp>
#include <sse/joe.hpp>
#include <sse/message.hpp>
#include <sse/parser.hpp>
#include <sse/provider.hpp>
#include <sse/queue_sink.hpp>
#include <sse/read.hpp>
#include <sse/replayer.hpp>
#include <sse/version.hpp>

#endif
