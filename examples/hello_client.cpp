// go-sse's "Hello world" client: prints the data of every unnamed event.
//
//   hello_client [URL]       (default http://127.0.0.1:8000/)
#include <sse/client.hpp>

#include <cstdio>

int main(int argc, char** argv) {
    sse::request req;
    req.target = argc > 1 ? argv[1] : "http://127.0.0.1:8000/";

    sse::connection conn(req); // the default client: reconnects with backoff, forever
    conn.subscribe_messages([](const sse::event_view& ev) {
        std::printf("%.*s\n\n", static_cast<int>(ev.data.size()), ev.data.data());
        std::fflush(stdout);
    });

    std::error_code ec;
    conn.run(ec);
    if (ec) std::fprintf(stderr, "%s\n", ec.message().c_str());
    return ec ? 1 : 0;
}
