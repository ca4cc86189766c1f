// Builds a message, serializes it, and reads it back with sse::read,
// showing what a client receives.
#include <sse/sse.hpp>

#include <chrono>
#include <cstdio>
#include <string>

int main() {
    sse::message m;
    m.id = sse::event_id("42");
    m.type = sse::event_type("greeting");
    m.retry = std::chrono::seconds(3);
    m.append_data("Hello world!", "Nice\nto see you.");
    m.append_comment("comments are ignored by clients");

    const std::string wire = m.to_string();
    std::printf("--- on the wire (%zu bytes) ---\n%s", wire.size(), wire.c_str());

    std::printf("--- what a client receives ---\n");
    int events = 0;
    for (const sse::event& ev : sse::read(wire)) {
        ++events;
        std::printf("type=%s last_event_id=%s\ndata=%s\n", ev.type.c_str(), ev.last_event_id.c_str(),
                    ev.data.c_str());
    }
    const bool round_trips = sse::message::parse(wire) == m;
    std::printf("--- %d event(s); message::parse round-trips: %s ---\n", events, round_trips ? "yes" : "no");
    return events == 1 && round_trips ? 0 : 1;
}
