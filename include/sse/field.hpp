// event_id and event_type: single-line strings for the `id:` and `event:`
// fields. They cannot hold a line break, so a value taken from a user can't
// forge extra fields or events.
#ifndef SSE_FIELD_HPP
#define SSE_FIELD_HPP

#include <sse/error.hpp>

#include <compare>
#include <string>
#include <string_view>
#include <system_error>

namespace sse {
namespace detail {

/// True when `v` holds none of the bytes in `forbidden` (searched as a set).
inline bool has_none_of(std::string_view v, std::string_view forbidden) noexcept {
    return v.find_first_of(forbidden) == std::string_view::npos;
}

/// An optional single-line string. Unset (nothing written) and set-but-empty
/// (written with an empty value) are different states.
template <class Traits>
class line_field {
public:
    /// An unset value.
    line_field() noexcept = default;

    /// A set value; throws std::system_error (Traits::code) if `v` is invalid.
    explicit line_field(std::string_view v) : value_(v), set_(true) {
        if (!Traits::valid(v))
            throw_error(Traits::code, std::string(Traits::what) + ": \"" + escape(v) + "\"");
    }

    /// Whether the value was set (possibly to the empty string).
    bool is_set() const noexcept { return set_; }

    /// The value; empty when unset.
    const std::string& str() const noexcept { return value_; }
    std::string_view view() const noexcept { return value_; }

    /// Back to unset.
    void reset() noexcept {
        value_.clear();
        set_ = false;
    }

    friend bool operator==(const line_field&, const line_field&) = default;

protected:
    static line_field make_checked(std::string_view v, std::error_code& ec) {
        line_field f;
        if (!Traits::valid(v)) {
            ec = Traits::code;
            return f;
        }
        ec.clear();
        f.value_.assign(v);
        f.set_ = true;
        return f;
    }

private:
    // Shows control bytes visibly in error messages (\r, \n, \0).
    static std::string escape(std::string_view v) {
        std::string out;
        for (char c : v.substr(0, 64)) {
            if (c == '\r') out += "\\r";
            else if (c == '\n') out += "\\n";
            else if (c == '\0') out += "\\0";
            else out += c;
        }
        if (v.size() > 64) out += "...";
        return out;
    }

    std::string value_;
    bool set_ = false;
};

struct id_traits {
    static constexpr error code = error::invalid_id;
    static constexpr const char* what = "invalid event id (CR, LF or NUL)";
    static bool valid(std::string_view v) noexcept {
        return has_none_of(v, std::string_view("\r\n\0", 3));
    }
};

struct type_traits {
    static constexpr error code = error::invalid_type;
    static constexpr const char* what = "invalid event type (CR or LF)";
    static bool valid(std::string_view v) noexcept { return has_none_of(v, "\r\n"); }
};

} // namespace detail

/// The `id:` of an event. Unset by default: nothing is written. Set to
/// empty, it writes `id:` with no value, which resets the client's last id.
class event_id : public detail::line_field<detail::id_traits> {
    using base = detail::line_field<detail::id_traits>;

public:
    using base::base;
    /// From the checked base value (what make returns).
    event_id(const base& b) : base(b) {}

    /// Like the constructor, but reports an invalid value through `ec`
    /// (sse::error::invalid_id) and returns an unset id.
    static event_id make(std::string_view v, std::error_code& ec) { return make_checked(v, ec); }
};

/// The `event:` of an event (its type). Unset by default: nothing is written
/// and clients see the type "message".
class event_type : public detail::line_field<detail::type_traits> {
    using base = detail::line_field<detail::type_traits>;

public:
    using base::base;
    /// From the checked base value (what make returns).
    event_type(const base& b) : base(b) {}

    /// Like the constructor, but reports an invalid value through `ec`
    /// (sse::error::invalid_type) and returns an unset type.
    static event_type make(std::string_view v, std::error_code& ec) { return make_checked(v, ec); }
};

} // namespace sse

#endif
