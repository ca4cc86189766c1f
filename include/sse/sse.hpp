// The protocol and in-process pub/sub in one include: parser, read, message,
// fields, events, frames and sinks, Joe, replayers. The networking parts have
// their own headers (session.hpp, server.hpp, client.hpp, ssl.hpp), so code
// that only parses or publishes compiles no sockets, timers or coroutines;
// read.hpp brings Asio's buffer types only (to read from any Asio stream).
#ifndef SSE_SSE_HPP
#define SSE_SSE_HPP

#include <sse/error.hpp>
#include <sse/event.hpp>
#include <sse/field.hpp>
#include <sse/frame.hpp>
#include <sse/joe.hpp>
#include <sse/message.hpp>
#include <sse/parser.hpp>
#include <sse/provider.hpp>
#include <sse/queue_sink.hpp>
#include <sse/read.hpp>
#include <sse/replayer.hpp>
#include <sse/version.hpp>

#endif
