// Build configuration shared by every header: header-only by default, or
// compiled once when SSE_SEPARATE_COMPILATION is defined (see <sse/src.hpp>).
#ifndef SSE_DETAIL_CONFIG_HPP
#define SSE_DETAIL_CONFIG_HPP

#if defined(SSE_SEPARATE_COMPILATION)
#define SSE_DECL
#else
#define SSE_HEADER_ONLY 1
#define SSE_DECL inline
#endif

// Asio before 1.24 enables co_await on clang only for the Coroutines TS;
// clang with C++20 coroutines and <coroutine> works too (the client needs it).
#if defined(__clang__) && !defined(ASIO_HAS_CO_AWAIT) && !defined(ASIO_DISABLE_CO_AWAIT) && \
    defined(__cpp_impl_coroutine) && __cpp_impl_coroutine >= 201902L
#if __has_include(<coroutine>)
#define ASIO_HAS_CO_AWAIT 1
#endif
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SSE_LIKELY(x) __builtin_expect(!!(x), 1)
#define SSE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define SSE_LIKELY(x) (x)
#define SSE_UNLIKELY(x) (x)
#endif

#endif
