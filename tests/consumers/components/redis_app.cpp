// Links sse::redis: redis_provider compiles and links against hiredis (no Redis is contacted).
#include <sse/redis.hpp>

#include <asio/io_context.hpp>

#include <cstdio>

int main() {
    std::error_code ec;
    const sse::redis_options o = sse::parse_redis_url("redis://127.0.0.1:1/0?prefix=consumer", ec);
    asio::io_context ioc;
    sse::redis_provider redis(ioc.get_executor(), o);
    redis.shutdown();
    std::puts(!ec && o.prefix == "consumer" ? "redis: OK" : "redis: bad URL");
    return ec ? 1 : 0;
}
