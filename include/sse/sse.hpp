// The whole sse library, except the opt-in TLS and Redis parts.
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
