// message::parse and write_to round trip: whatever parse accepts serializes
// to text that parses back to the same message, and the stream parser agrees
// on what a client would receive.
#include <sse/message.hpp>
#include <sse/parser.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(bytes), size);
    std::error_code ec;
    const sse::message m = sse::message::parse(input, ec);
    if (ec) {
        if (!m.empty()) std::abort(); // nothing half-parsed on error
        return 0;
    }
    const std::string wire = m.to_string();
    if (wire.size() != m.serialized_size()) std::abort();
    std::error_code ec2;
    const sse::message again = sse::message::parse(wire, ec2);
    if (ec2 || !(again == m)) std::abort();

    // A client sees one event iff there is data, with the joined data lines.
    sse::parser p;
    int events = 0;
    p.feed(wire, [&](const sse::event_view& ev) {
        ++events;
        if (ev.data != m.data()) std::abort();
        const std::string_view want_type = m.type.is_set() && !m.type.view().empty() ? m.type.view() : "message";
        if (ev.type != want_type) std::abort();
    });
    bool has_data = false;
    for (std::size_t i = 0; i < m.line_count(); ++i) has_data |= m.line_at(i).kind == sse::message::line_kind::data;
    if (events != (has_data ? 1 : 0)) std::abort();
    if (m.id.is_set() && p.last_event_id() != m.id.view()) std::abort();
    return 0;
}
