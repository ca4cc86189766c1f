// Compiler switches shared by the headers. The library is header-only, with
// no compiled mode: the out-of-line definitions in impl/*.ipp are `inline`
// (what costs compile time is the Asio templates, which a compiled mode
// could not take out; see docs/architecture.md).
#ifndef SSE_DETAIL_CONFIG_HPP
#define SSE_DETAIL_CONFIG_HPP

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

// For the parser's per-line steps, whose inlining must not depend on how much
// else the compiler sees in the translation unit (an `inline` function only,
// so the attribute is all this adds), and for their rare slow paths.
#if defined(__GNUC__) || defined(__clang__)
#define SSE_ALWAYS_INLINE __attribute__((always_inline))
#define SSE_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define SSE_ALWAYS_INLINE __forceinline
#define SSE_NOINLINE __declspec(noinline)
#else
#define SSE_ALWAYS_INLINE
#define SSE_NOINLINE
#endif

#endif
