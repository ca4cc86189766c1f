// The client through HTTP proxies (sse/client.hpp, detail/proxy.hpp): which proxy a request
// takes (an explicit one, or HTTP_PROXY / HTTPS_PROXY / NO_PROXY as Go reads them), then end to
// end through a real tinyproxy on loopback started by the test: absolute-form http, CONNECT
// tunnels for https, Basic credentials, proxies that refuse (407, 403), and one that dies in the
// middle of a stream. A raw scripted peer stands in for the proxy only where the environment
// must name a host that is not loopback (Go's rule: loopback never goes through the proxy).
#include "sse_test.hpp"
#include "support/node_peer.hpp"
#include "support/scripted_peer.hpp"
#include "support/tinyproxy.hpp"

#include <sse/client.hpp>
#include <sse/ssl.hpp>

#include <asio/io_context.hpp>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;
using sse_test::scripted_server;

bool drive(asio::io_context& ioc, const std::function<bool()>& done, ms limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until) {
        if (ioc.stopped()) ioc.restart();
        ioc.run_one_until(until);
    }
    return done();
}

std::error_code run_on(asio::io_context& ioc, sse::connection& conn, ms limit = 15000ms) {
    std::optional<std::error_code> result;
    conn.async_run([&](std::error_code ec) { result = ec; });
    if (!drive(ioc, [&] { return result.has_value(); }, limit)) {
        FAIL_CHECK("the connection was still running after " << limit.count() << " ms");
        conn.cancel();
        drive(ioc, [&] { return result.has_value(); }, 5000ms);
    }
    REQUIRE(result.has_value());
    return *result;
}

sse::client quick(int max_retries) {
    sse::client c;
    c.backoff.initial_interval = 10ms;
    c.backoff.jitter = -1;
    c.backoff.max_retries = max_retries;
    c.proxy_from_environment = false;
    return c;
}

sse::request get(std::string target) {
    sse::request r;
    r.target = std::move(target);
    return r;
}

sse::detail::url must_parse(std::string_view s) {
    std::error_code ec;
    sse::detail::url u = sse::detail::parse_url(s, ec);
    REQUIRE(!ec);
    return u;
}

// Sets (or, with nullptr, unsets) environment variables for one scope.
class scoped_env {
public:
    scoped_env(std::initializer_list<std::pair<const char*, const char*>> vars) {
        for (const auto& [name, value] : vars) {
            const char* old = std::getenv(name);
            saved_.push_back({name, old ? std::optional<std::string>(old) : std::nullopt});
            if (value) ::setenv(name, value, 1);
            else ::unsetenv(name);
        }
    }
    ~scoped_env() {
        for (const auto& [name, value] : saved_) {
            if (value) ::setenv(name.c_str(), value->c_str(), 1);
            else ::unsetenv(name.c_str());
        }
    }
    scoped_env(const scoped_env&) = delete;
    scoped_env& operator=(const scoped_env&) = delete;

private:
    std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// Every proxy variable unset, then these set.
scoped_env proxy_env(const char* http, const char* https, const char* no_proxy) {
    return scoped_env{{"HTTP_PROXY", http}, {"http_proxy", nullptr},   {"HTTPS_PROXY", https},
                      {"https_proxy", nullptr}, {"NO_PROXY", no_proxy}, {"no_proxy", nullptr},
                      {"REQUEST_METHOD", nullptr}};
}

} // namespace

// ============================================================================ choosing a proxy

TEST_CASE("client proxy: proxy URLs and Basic credentials", "[client][proxy]") {
    std::error_code ec;
    sse::detail::url p = sse::detail::parse_proxy_url("127.0.0.1:3128", ec);
    CHECK(!ec);
    CHECK(p.host == "127.0.0.1");
    CHECK(p.port == "3128");
    CHECK(p.userinfo.empty());
    CHECK(sse::detail::proxy_authorization(p).empty());

    p = sse::detail::parse_proxy_url(" http://Aladdin:open%20sesame@proxy.example:8080/ ", ec);
    CHECK(!ec);
    CHECK(p.host == "proxy.example");
    CHECK(p.port == "8080");
    CHECK(p.userinfo == "Aladdin:open%20sesame");
    CHECK(sse::detail::proxy_authorization(p) == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="); // RFC 7617's example
    p = sse::detail::parse_proxy_url("http://[::1]:3128", ec);
    CHECK(!ec);
    CHECK(p.host == "::1");
    CHECK(sse::detail::proxy_authorization(sse::detail::parse_proxy_url("http://user@p:1", ec)) ==
          "Basic " + sse::detail::base64("user:"));
    CHECK(sse::detail::base64("") == "");
    CHECK(sse::detail::base64("f") == "Zg==");
    CHECK(sse::detail::base64("fo") == "Zm8=");
    CHECK(sse::detail::base64("foo") == "Zm9v");

    for (const char* bad : {"https://proxy:443", "socks5://proxy:1080", "http://proxy:8080/path", "http://", "",
                            "http://proxy:port"}) {
        INFO(bad);
        sse::detail::parse_proxy_url(bad, ec);
        CHECK(ec == sse::error::invalid_url);
    }
    // A target URL with user info is still refused.
    sse::detail::parse_url("http://user:pw@example.com/", ec);
    CHECK(ec == sse::error::invalid_url);
}

TEST_CASE("client proxy: the request through a proxy, and the CONNECT request", "[client][proxy]") {
    const sse::detail::url u = must_parse("http://example.com:8080/a/b?c=1");
    const std::string r = sse::detail::build_request("GET", u, {}, "", true, "Basic eDp5");
    CHECK(r.rfind("GET http://example.com:8080/a/b?c=1 HTTP/1.1\r\nHost: example.com:8080\r\n"
                  "Proxy-Authorization: Basic eDp5\r\n",
                  0) == 0);
    CHECK(sse::detail::build_request("GET", u, {}, "").rfind("GET /a/b?c=1 HTTP/1.1\r\n", 0) == 0);
    CHECK(sse::detail::connect_request(must_parse("https://example.com/x"), "") ==
          "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    CHECK(sse::detail::connect_request(must_parse("https://[::1]:8443/"), "Basic eDp5") ==
          "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\nProxy-Authorization: Basic eDp5\r\n\r\n");
}

TEST_CASE("client proxy: NO_PROXY as Go reads it", "[client][proxy]") {
    auto exempt = [](std::string_view list, std::string_view target) {
        return sse::detail::no_proxy_matches(list, must_parse(target));
    };
    CHECK(exempt("*", "http://anything.example/"));
    CHECK(!exempt("", "http://example.com/"));
    CHECK(exempt("example.com", "http://example.com/"));
    CHECK(exempt("example.com", "http://api.example.com/"));
    CHECK(exempt("EXAMPLE.com", "http://Api.Example.COM/"));
    CHECK(!exempt("example.com", "http://badexample.com/"));
    CHECK(!exempt(".example.com", "http://example.com/"));
    CHECK(exempt(".example.com", "http://api.example.com/"));
    CHECK(exempt("*.example.com", "http://api.example.com/"));
    CHECK(!exempt("*.example.com", "http://example.com/"));
    CHECK(exempt("other.org, example.com", "http://example.com/"));
    CHECK(exempt("other.org example.com", "http://example.com/"));
    CHECK(exempt("example.com:8080", "http://example.com:8080/"));
    CHECK(!exempt("example.com:8080", "http://example.com/"));
    CHECK(exempt("example.com:443", "https://example.com/"));
    CHECK(exempt("10.0.0.0/8", "http://10.1.2.3/"));
    CHECK(!exempt("10.0.0.0/8", "http://11.1.2.3/"));
    CHECK(exempt("192.168.1.7", "http://192.168.1.7:81/"));
    CHECK(!exempt("192.168.1.7", "http://192.168.1.8/"));
    CHECK(exempt("fd00::/8", "http://[fd12::1]/"));
    CHECK(exempt("[fd12::1]:81", "http://[fd12::1]:81/"));
    CHECK(!exempt("[fd12::1]:81", "http://[fd12::1]:82/"));
    CHECK(!exempt("10.0.0.0/8", "http://example.com/"));
}

TEST_CASE("client proxy: the environment's proxy per scheme, never for loopback", "[client][proxy]") {
    sse::detail::proxy_environment env;
    env.http_proxy = "http://hp:1";
    env.https_proxy = "sp:2";
    env.no_proxy = "internal.example";
    std::error_code ec;
    auto via = [&](std::string_view target) -> std::string {
        const auto p = sse::detail::proxy_from(env, must_parse(target), ec);
        return p ? p->host + ":" + p->port : std::string("direct");
    };
    CHECK(via("http://example.com/") == "hp:1");
    CHECK(via("https://example.com/") == "sp:2");
    CHECK(via("http://internal.example/") == "direct");
    CHECK(via("http://a.internal.example/") == "direct");
    CHECK(via("http://localhost:8080/") == "direct");
    CHECK(via("http://api.localhost/") == "direct");
    CHECK(via("http://127.0.0.1/") == "direct");
    CHECK(via("http://127.1.2.3/") == "direct");
    CHECK(via("https://[::1]/") == "direct");
    CHECK(!ec);
    env.https_proxy.clear();
    CHECK(via("https://example.com/") == "direct");
    env.http_proxy = "ftp://nope";
    CHECK(via("http://example.com/") == "direct");
    CHECK(ec == sse::error::invalid_url);

    SECTION("read from the variables: upper case first, and HTTP_PROXY not in a CGI request") {
        {
            auto e = proxy_env("http://upper:1", nullptr, "x.example");
            scoped_env lower{{"http_proxy", "http://lower:2"}, {"https_proxy", "http://lower:3"}};
            const auto read = sse::detail::proxy_environment::read();
            CHECK(read.http_proxy == "http://upper:1");
            CHECK(read.https_proxy == "http://lower:3");
            CHECK(read.no_proxy == "x.example");
        }
        {
            auto e = proxy_env("http://upper:1", "http://s:1", nullptr);
            scoped_env cgi{{"REQUEST_METHOD", "GET"}};
            const auto read = sse::detail::proxy_environment::read();
            CHECK(read.http_proxy.empty()); // "httpoxy": a request's Proxy header must not choose it
            CHECK(read.https_proxy == "http://s:1");
        }
    }
}

TEST_CASE("client proxy: HTTP_PROXY and HTTPS_PROXY are honoured by default", "[client][proxy]") {
    // The target's name is never resolved by the client: only the proxy (a scripted peer) sees it.
    scripted_server proxy({scripted_server::stream("data: via the environment\n\n")});
    const std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());
    asio::io_context ioc;
    {
        auto env = proxy_env(proxy_url.c_str(), nullptr, nullptr);
        sse::client cfg = quick(-1);
        cfg.proxy_from_environment = true; // (the default)
        sse::connection conn(ioc.get_executor(), get("http://sse-origin.invalid/stream?x=1"), cfg);
        std::vector<std::string> got;
        conn.subscribe_messages([&](const sse::event_view& e) { got.emplace_back(e.data); });
        CHECK(!run_on(ioc, conn));
        CHECK(got == std::vector<std::string>{"via the environment"});
        REQUIRE(proxy.count() == 1);
        CHECK(proxy.requests()[0].rfind("GET http://sse-origin.invalid/stream?x=1 HTTP/1.1\r\n", 0) == 0);
        CHECK(proxy.header(0, "Host") == std::optional<std::string>("sse-origin.invalid"));
    }
    {
        // https: a CONNECT tunnel, here refused for lack of credentials.
        scripted_server refusing({{"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n"
                                   "Content-Length: 0\r\n\r\n"}});
        const std::string url = "http://127.0.0.1:" + std::to_string(refusing.port());
        auto env = proxy_env(nullptr, url.c_str(), nullptr);
        sse::client cfg = quick(0); // retries on: a permanent failure must still end it
        cfg.proxy_from_environment = true;
        sse::use_tls(cfg);
        sse::connection conn(ioc.get_executor(), get("https://sse-origin.invalid/events"), cfg);
        CHECK(run_on(ioc, conn) == sse::error::proxy_auth_required);
        CHECK(conn.last_status() == 407u);
        REQUIRE(refusing.count() == 1);
        CHECK(refusing.requests()[0] == "CONNECT sse-origin.invalid:443 HTTP/1.1\r\nHost: sse-origin.invalid:443\r\n");
    }
}

TEST_CASE("client proxy: a bad proxy URL fails at once", "[client][proxy]") {
    asio::io_context ioc;
    sse::client cfg = quick(0);
    cfg.proxy = "socks5://127.0.0.1:1080";
    sse::connection conn(ioc.get_executor(), get("http://127.0.0.1:1/"), cfg);
    CHECK(run_on(ioc, conn) == sse::error::invalid_url);
}

// ============================================================================ tinyproxy

TEST_CASE("client vs tinyproxy: http through the proxy (absolute form), with and without Basic auth",
          "[client][proxy][tinyproxy]") {
    SSE_TEST_NEED_TINYPROXY();
    scripted_server origin({scripted_server::stream("id: 1\ndata: through the proxy\n\n")});
    asio::io_context ioc;
    SECTION("no credentials needed") {
        sse_test::tinyproxy proxy;
        sse::client cfg = quick(-1);
        cfg.proxy = proxy.url();
        sse::connection conn(ioc.get_executor(), get(origin.url("/events")), cfg);
        std::vector<std::string> got;
        conn.subscribe_messages([&](const sse::event_view& e) { got.emplace_back(e.data); });
        CHECK(!run_on(ioc, conn));
        CHECK(got == std::vector<std::string>{"through the proxy"});
        REQUIRE(origin.count() == 1);
        CHECK_THAT(origin.header(0, "Via").value_or(""), SSE_CONTAINS("tinyproxy")); // it came through
        CHECK(!origin.header(0, "Proxy-Authorization"));
    }
    SECTION("Basic credentials: right, missing, wrong") {
        sse_test::tinyproxy proxy({.basic_auth = "user s3cret"});
        sse::client cfg = quick(0);
        cfg.proxy = proxy.url("user:s%33cret"); // (percent-encoded in the URL)
        sse::connection conn(ioc.get_executor(), get(origin.url("/events")), cfg);
        std::vector<std::string> got;
        conn.subscribe_messages([&](const sse::event_view& e) {
            got.emplace_back(e.data);
            conn.cancel();
        });
        CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
        CHECK(got == std::vector<std::string>{"through the proxy"});
        CHECK(!origin.header(0, "Proxy-Authorization")); // for the proxy only

        // Missing: 407. Wrong: tinyproxy answers 401, which on plain http can't be told from the
        // origin's own (through a CONNECT tunnel it is proxy_auth_required, see below).
        for (const std::string& creds : {std::string(), std::string("user:wrong")}) {
            INFO("credentials: " << creds);
            int retries = 0;
            cfg.proxy = proxy.url(creds);
            cfg.on_retry = [&](std::error_code, ms) { ++retries; };
            sse::connection refused(ioc.get_executor(), get(origin.url("/events")), cfg);
            const std::error_code ec = run_on(ioc, refused);
            if (creds.empty()) {
                CHECK(ec == sse::error::proxy_auth_required);
                CHECK(refused.last_status() == 407u);
            } else {
                CHECK(ec == sse::error::bad_status);
                CHECK(refused.last_status() == 401u);
            }
            CHECK(retries == 0);
        }
        CHECK(origin.count() == 1);
    }
    SECTION("a proxy that refuses the client: 403, and the status says so") {
        sse_test::tinyproxy proxy({.deny_all = true});
        sse::client cfg = quick(0);
        cfg.proxy = proxy.url();
        sse::connection conn(ioc.get_executor(), get(origin.url("/events")), cfg);
        CHECK(run_on(ioc, conn) == sse::error::bad_status);
        CHECK(conn.last_status() == 403u);
        CHECK(origin.count() == 0);
    }
}

TEST_CASE("client vs tinyproxy: a proxy that dies mid-stream; the client reconnects through it",
          "[client][proxy][tinyproxy]") {
    SSE_TEST_NEED_TINYPROXY();
    scripted_server origin({scripted_server::stream("id: 1\ndata: a\n\n", true), scripted_server::stream("id: 2\ndata: b\n\n", true)});
    sse_test::tinyproxy proxy;
    asio::io_context ioc;
    sse::client cfg = quick(0);
    cfg.proxy = proxy.url();
    std::vector<std::error_code> causes;
    cfg.on_retry = [&](std::error_code ec, ms) { causes.push_back(ec); };
    sse::connection conn(ioc.get_executor(), get(origin.url("/events")), cfg);
    std::vector<std::string> got;
    conn.subscribe_messages([&](const sse::event_view& e) {
        got.emplace_back(e.data);
        if (got.size() == 1) { // the proxy crashes, and comes back on the same port
            proxy.kill();
            proxy.start();
        }
        if (got.size() == 2) conn.cancel();
    });
    CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
    CHECK(got == std::vector<std::string>{"a", "b"});
    REQUIRE(origin.count() == 2);
    CHECK(origin.header(1, "Last-Event-ID") == std::optional<std::string>("1"));
    CHECK_THAT(origin.header(1, "Via").value_or(""), SSE_CONTAINS("tinyproxy"));
    CHECK(!causes.empty()); // the broken stream, maybe a refused connection while it restarted
}

TEST_CASE("client vs tinyproxy: https through a CONNECT tunnel; a refused tunnel is a clear error",
          "[client][proxy][tinyproxy][node][tls]") {
    SSE_TEST_NEED_TINYPROXY();
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("tls-server.mjs", {}, 2);
    const std::string cert = peer.startup_lines().at(0);
    const std::string target = "https://localhost:" + std::to_string(peer.port()) + "/events";
    asio::io_context ioc;
    auto config = [&](std::string proxy_url) {
        sse::client cfg = quick(0);
        cfg.proxy = std::move(proxy_url);
        sse::use_tls(cfg, sse::make_tls_client_context({.verify_peer = true, .ca_file = cert}));
        return cfg;
    };
    {
        sse_test::tinyproxy proxy({.basic_auth = "user s3cret"});
        sse::connection conn(ioc.get_executor(), get(target), config(proxy.url("user:s3cret")));
        std::vector<std::string> got;
        conn.subscribe_messages([&](const sse::event_view& e) {
            got.emplace_back(e.data);
            conn.cancel();
        });
        CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
        CHECK(got == std::vector<std::string>{"secure 1"}); // the certificate checked for "localhost" through it

        sse::connection no_auth(ioc.get_executor(), get(target), config(proxy.url()));
        CHECK(run_on(ioc, no_auth) == sse::error::proxy_auth_required);
        CHECK(no_auth.last_status() == 407u);
        sse::connection wrong(ioc.get_executor(), get(target), config(proxy.url("user:wrong")));
        CHECK(run_on(ioc, wrong) == sse::error::proxy_auth_required); // (tinyproxy says 401)
        CHECK(wrong.last_status() == 401u);
    }
    {
        sse_test::tinyproxy proxy({.connect_port = "1"}); // CONNECT to any other port: 403
        int retries = 0;
        sse::client cfg = config(proxy.url());
        cfg.on_retry = [&](std::error_code, ms) { ++retries; };
        sse::connection conn(ioc.get_executor(), get(target), cfg);
        CHECK(run_on(ioc, conn) == sse::error::proxy_refused);
        CHECK(conn.last_status() == 403u);
        CHECK(retries == 0);
    }
}
