// go-sse's server "Hello world": every second, "Hello world" to every client.
//
//   hello_server [--port N]     then: curl -N http://127.0.0.1:8000/   (port 0: any free port)
#include <sse/server.hpp>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string_view>

int main(int argc, char** argv) {
    const bool port_given = argc == 3 && std::string_view(argv[1]) == "--port";
    const auto port = static_cast<unsigned short>(port_given ? std::atoi(argv[2]) : 8000);

    asio::io_context ioc;
    sse::server server(ioc); // Joe is the default provider

    sse::message m;
    m.append_data("Hello world");

    asio::steady_timer tick(ioc);
    std::function<void(std::error_code)> every_second = [&](std::error_code ec) {
        if (ec) return;
        server.publish(m);
        tick.expires_after(std::chrono::seconds(1));
        tick.async_wait(every_second);
    };
    every_second({});

    server.listen({asio::ip::make_address("127.0.0.1"), port});
    std::printf("hello_server: http://127.0.0.1:%u/\n", server.local_endpoint().port());
    std::fflush(stdout);
    ioc.run(); // from as many threads as you like
}
