// A growable byte buffer for the parser's event fields.
#ifndef SSE_DETAIL_BYTE_BUFFER_HPP
#define SSE_DETAIL_BYTE_BUFFER_HPP

#include <sse/detail/config.hpp>

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace sse::detail {

/// Bytes appended at the end, cleared without giving the memory back: the
/// parser appends to its fields many times per event, and std::string's
/// bookkeeping (terminator, aliasing checks, small-string branches) costs
/// more than the copy for short values. The source of an append may lie in
/// the buffer itself.
class byte_buffer {
public:
    byte_buffer() = default;
    byte_buffer(const byte_buffer& other) { append(other.data(), other.size()); }
    byte_buffer(byte_buffer&& other) noexcept
        : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)),
          capacity_(std::exchange(other.capacity_, 0)) {}
    byte_buffer& operator=(const byte_buffer& other) {
        if (this != &other) assign(other.data(), other.size());
        return *this;
    }
    byte_buffer& operator=(byte_buffer&& other) noexcept {
        byte_buffer(std::move(other)).swap(*this);
        return *this;
    }

    const char* data() const noexcept { return data_.get(); }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    std::string_view view() const noexcept { return {data_.get(), size_}; }

    void clear() noexcept { size_ = 0; }
    SSE_ALWAYS_INLINE void assign(const char* p, std::size_t n) {
        if (SSE_UNLIKELY(n > capacity_)) {
            grow_and_append(p, n, 0);
        } else {
            if (n != 0) std::memmove(data_.get(), p, n);
            size_ = n;
        }
    }
    void assign(std::string_view s) { assign(s.data(), s.size()); }

    /// assign(p, n) and append(sep, p, n) where `readable` bytes from p may
    /// be read (the buffer p is in goes on past p + n): a short value, up to
    /// short_copy bytes, is copied as one block of that fixed size, which
    /// costs less than a call to memcpy that has to decide on the size (the
    /// bytes past n land in spare capacity and are overwritten later).
    static constexpr std::size_t short_copy = 64;
    SSE_ALWAYS_INLINE void assign(const char* p, std::size_t n, std::size_t readable) {
        if (n <= short_copy && readable >= short_copy && capacity_ >= short_copy) {
            std::memcpy(data_.get(), p, short_copy);
            size_ = n;
        } else {
            assign(p, n);
        }
    }
    SSE_ALWAYS_INLINE void append(char sep, const char* p, std::size_t n, std::size_t readable) {
        if (n <= short_copy && readable >= short_copy && capacity_ - size_ > short_copy) {
            data_[size_] = sep;
            std::memcpy(data_.get() + size_ + 1, p, short_copy);
            size_ += n + 1;
        } else {
            append(sep, p, n);
        }
    }
    SSE_ALWAYS_INLINE void append(const char* p, std::size_t n) {
        if (SSE_UNLIKELY(n > capacity_ - size_)) {
            grow_and_append(p, n, size_);
        } else {
            if (n != 0) std::memcpy(data_.get() + size_, p, n);
            size_ += n;
        }
    }
    /// Appends `sep`, then n bytes (one check for room, for joining lines).
    SSE_ALWAYS_INLINE void append(char sep, const char* p, std::size_t n) {
        if (SSE_UNLIKELY(n >= capacity_ - size_)) {
            push_back(sep);
            append(p, n);
            return;
        }
        data_[size_] = sep;
        if (n != 0) std::memcpy(data_.get() + size_ + 1, p, n);
        size_ += n + 1;
    }
    void push_back(char c) {
        if (SSE_UNLIKELY(size_ == capacity_)) grow_and_append(&c, 1, size_);
        else data_[size_++] = c;
    }
    void swap(byte_buffer& other) noexcept {
        data_.swap(other.data_);
        std::swap(size_, other.size_);
        std::swap(capacity_, other.capacity_);
    }

private:
    // Keeps the first `keep` bytes, then appends: the old memory is freed
    // only after the copy, so `p` may point into it.
    SSE_NOINLINE void grow_and_append(const char* p, std::size_t n, std::size_t keep) {
        std::size_t capacity = capacity_ < 32 ? 64 : capacity_ * 2;
        if (capacity < keep + n) capacity = keep + n;
        std::unique_ptr<char[]> bigger(new char[capacity]);
        if (keep != 0) std::memcpy(bigger.get(), data_.get(), keep);
        std::memcpy(bigger.get() + keep, p, n);
        data_ = std::move(bigger);
        size_ = keep + n;
        capacity_ = capacity;
    }

    std::unique_ptr<char[]> data_;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
};

} // namespace sse::detail

#endif
