// The pkg-config consumer: the core only (parser and message need neither Asio nor llhttp),
// compiled with exactly `pkg-config --cflags --libs sse`. Prints "sse X.Y.Z: ... OK".
#include <sse/message.hpp>
#include <sse/parser.hpp>
#include <sse/version.hpp>

#include <cstdio>
#include <string>

int main() {
    sse::message m;
    m.type = sse::event_type("note");
    m.append_data("pkg-config");
    const std::string wire = m.to_string();

    sse::parser p;
    std::string type, data;
    int events = 0;
    p.feed(wire, [&](const sse::event_view& ev) {
        ++events;
        type = ev.type;
        data = ev.data;
    });
    if (wire != "event: note\ndata: pkg-config\n\n" || events != 1 || type != "note" || data != "pkg-config") {
        std::fprintf(stderr, "pkg_config consumer: FAILED: round trip gave %d event(s), type '%s', data '%s'\n", events,
                     type.c_str(), data.c_str());
        return 1;
    }
    std::printf("sse %d.%d.%d: parser, message: OK\n", SSE_VERSION_MAJOR, SSE_VERSION_MINOR, SSE_VERSION_PATCH);
    return 0;
}
