// Links sse::tls: the TLS client compiles and links against OpenSSL.
#include <sse/ssl.hpp>

#include <cstdio>

int main() {
    sse::client cfg;
    sse::use_tls(cfg); // a client context with the system's trust store
    std::puts(cfg.tls ? "tls: OK" : "tls: no factory");
    return cfg.tls ? 0 : 1;
}
