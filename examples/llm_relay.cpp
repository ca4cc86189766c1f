// llm_relay: relays an LLM's streamed answers to the browsers in a room.
//   GET  /events?topic=ROOM[&since=ID]  the room's events (since: replay after ID on a first visit)
//   POST /ask?topic=ROOM                the body is a prompt: streams the upstream's answer into
//                                       the room as `token` events, then `done` (with the error, if any)
// Every event has an id and is kept, so a browser that reconnects gets what it missed. On SIGINT
// or SIGTERM the answers in flight are cut (each says so), the browsers get `bye`, and it exits.
//
//   llm_relay [UPSTREAM_URL [PORT]]    (defaults: http://127.0.0.1:8081/v1/chat/completions, 8080)
#include <sse/connection_group.hpp>
#include <sse/replayer.hpp>
#include <sse/server.hpp>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

// `s` as a JSON string (prompts and error texts are not trusted to be JSON).
static std::string json(std::string_view s) {
    std::string out = "\"";
    for (const unsigned char c : s) {
        char u[8];
        std::snprintf(u, sizeof u, "\\u%04x", c);
        out += c < 0x20 || c == '"' || c == '\\' ? std::string(u) : std::string(1, static_cast<char>(c));
    }
    return out + "\"";
}

int main(int argc, char** argv) {
    const std::string upstream = argc > 1 ? argv[1] : "http://127.0.0.1:8081/v1/chat/completions";
    const auto port = static_cast<unsigned short>(argc > 2 ? std::atoi(argv[2]) : 8080);

    asio::io_context ioc;
    // Ids from the microseconds since the epoch (the default): restart-safe.
    sse::server server(ioc, sse::joe(sse::finite_replayer(10000, {.auto_ids = true, .gap_event = sse::event_type("gap")})));
    sse::connection_group asks; // the upstream streams in flight, stopped together at shutdown
    int next_ask = 0;           // the hook runs on one thread here (ioc.run below)

    // One line per event; with an error_code, as publishing fails once shutdown has begun.
    auto say = [&server](const std::string& room, const char* type, const std::string& data) {
        std::error_code ec;
        server.publish(sse::message(sse::event_type(type), data), room, ec);
    };

    auto ask = [&](const std::string& room, std::string_view prompt) {
        const std::string tag = "{\"ask\":" + std::to_string(++next_ask);
        sse::request req{.method = "POST", .target = upstream, .headers = {{"Content-Type", "application/json"}},
                         .body = R"({"model":"any","stream":true,"messages":[{"role":"user","content":)" + json(prompt) + "}]}"};
        sse::client cfg;
        cfg.backoff.max_retries = -1; // one answer: no reconnection
        auto conn = std::make_shared<sse::connection>(ioc.get_executor(), std::move(req), cfg);
        conn->subscribe_messages([say, room, tag](const sse::event_view& ev) {
            if (ev.data != "[DONE]") say(room, "token", tag + ",\"chunk\":" + std::string(ev.data) + "}");
        });
        asks.async_run(conn, [say, room, tag](std::error_code ec) { // the group owns conn until here
            say(room, "done", tag + (ec ? ",\"error\":" + json(ec.message()) : "") + "}");
        });
        return tag + "}\n";
    };

    server.on_request([&](const sse::request& req) -> sse::request_decision {
        const std::string room = req.query_value("topic", "room");
        if (req.path() == "/ask" && req.method == "POST") return sse::response(202, ask(room, req.body), "application/json");
        if (req.path() != "/events") return sse::response(404, "not found\n");
        sse::stream_accept stream{{room}};
        const std::string since = req.query_value("since");
        std::error_code ec;
        if (!since.empty() && req.header_value("Last-Event-ID").empty()) // a reconnect resumes where it was
            stream.last_event_id = sse::event_id::make(since, ec);
        if (ec) return sse::response(400, "bad since\n");
        return stream;
    });

    // Graceful shutdown: cut the answers (their `done` events go out first), then say goodbye.
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code, int) {
        asks.async_stop([&](std::error_code) {
            sse::shutdown_options bye;
            bye.final_message = sse::message(sse::event_type("bye"), "the server is shutting down");
            server.async_shutdown(bye, [](std::error_code) {});
        });
    });

    server.listen({asio::ip::make_address("127.0.0.1"), port});
    std::printf("llm_relay: http://127.0.0.1:%u/ relaying %s\n", server.local_endpoint().port(), upstream.c_str());
    std::fflush(stdout);
    ioc.run(); // returns once everything has ended
}
