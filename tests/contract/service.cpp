// sse_contract_service: the "test service" of LaunchDarkly's sse-contract-tests (its
// docs/service_spec.md), over sse::connection. The harness creates client instances through a
// small REST API (served here by the library's own sse::server) and reads what each client saw
// from callbacks this service POSTs to it. See tests/contract/README.md.
//
//   sse_contract_service [--port N] [--host 127.0.0.1]     prints "listening on PORT" when ready
//
//   GET /              200 {"name": ..., "capabilities": [...]}
//   DELETE /           204, then the service quits
//   POST /             create a client from {streamUrl, callbackUrl, initialDelayMs, readTimeoutMs,
//                      lastEventId, headers, method, body}: 201, Location: http://HOST/streams/N
//   POST /streams/N    {"command": "restart"} or {"command": "listen", "listen": {"type": T}}
//   DELETE /streams/N  204 (404 if unknown)
//
// Callbacks go to <callbackUrl>/1, /2, ... per client, one at a time, in the order seen:
// {"kind":"event","event":{type,data,id}}, {"kind":"comment","comment":text},
// {"kind":"error","error":text}. A clean end of a stream before a reconnection is not an error.
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 with optimization pairs Asio's aligned coroutine-frame allocation with the sized
// delete it sees inlined and warns (a false positive, -Wmismatched-new-delete).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
#include <sse/client.hpp>
#include <sse/detail/url.hpp>
#include <sse/server.hpp>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace {

// ----------------------------------------------------------------------------------- JSON
// Just what the service spec needs: parse objects of strings, numbers and objects; quote strings.

struct json {
    enum kind_t { null, boolean, number, string, array, object } kind = null;
    bool b = false;
    double n = 0;
    std::string s;
    std::vector<json> a;
    std::vector<std::pair<std::string, json>> o;

    const json* get(std::string_view key) const {
        for (const auto& [k, v] : o)
            if (k == key) return &v;
        return nullptr;
    }
    std::optional<std::string> str(std::string_view key) const {
        const json* v = get(key);
        if (!v || v->kind != string) return std::nullopt;
        return v->s;
    }
    std::optional<long long> integer(std::string_view key) const {
        const json* v = get(key);
        if (!v || v->kind != number) return std::nullopt;
        return static_cast<long long>(v->n);
    }
};

class json_parser {
public:
    explicit json_parser(std::string_view in) : in_(in) {}

    // The one value of the input (false if it is not exactly one JSON value).
    bool parse(json& out) {
        if (!value(out, 0)) return false;
        space();
        return at_ == in_.size();
    }

private:
    void space() {
        while (at_ < in_.size() && (in_[at_] == ' ' || in_[at_] == '\t' || in_[at_] == '\n' || in_[at_] == '\r')) ++at_;
    }
    bool eat(char c) {
        space();
        if (at_ < in_.size() && in_[at_] == c) {
            ++at_;
            return true;
        }
        return false;
    }
    bool literal(std::string_view w) {
        if (in_.substr(at_, w.size()) != w) return false;
        at_ += w.size();
        return true;
    }
    bool value(json& v, int depth) {
        if (depth > 32) return false;
        space();
        if (at_ >= in_.size()) return false;
        const char c = in_[at_];
        if (c == '{') {
            ++at_;
            v.kind = json::object;
            if (eat('}')) return true;
            do {
                std::string key;
                json item;
                space();
                if (!string_value(key) || !eat(':') || !value(item, depth + 1)) return false;
                v.o.emplace_back(std::move(key), std::move(item));
            } while (eat(','));
            return eat('}');
        }
        if (c == '[') {
            ++at_;
            v.kind = json::array;
            if (eat(']')) return true;
            do {
                json item;
                if (!value(item, depth + 1)) return false;
                v.a.push_back(std::move(item));
            } while (eat(','));
            return eat(']');
        }
        if (c == '"') {
            v.kind = json::string;
            return string_value(v.s);
        }
        if (literal("true")) {
            v.kind = json::boolean;
            v.b = true;
            return true;
        }
        if (literal("false")) {
            v.kind = json::boolean;
            return true;
        }
        if (literal("null")) return true;
        const std::size_t start = at_;
        while (at_ < in_.size() && std::string_view("+-0123456789.eE").find(in_[at_]) != std::string_view::npos) ++at_;
        if (at_ == start) return false;
        v.kind = json::number;
        const std::string text(in_.substr(start, at_ - start));
        char* end = nullptr;
        v.n = std::strtod(text.c_str(), &end);
        return end == text.c_str() + text.size();
    }
    static void utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }
    bool hex4(unsigned& cp) {
        if (at_ + 4 > in_.size()) return false;
        cp = 0;
        for (int i = 0; i < 4; ++i) {
            const char h = in_[at_++];
            cp <<= 4;
            if (h >= '0' && h <= '9') cp |= static_cast<unsigned>(h - '0');
            else if (h >= 'a' && h <= 'f') cp |= static_cast<unsigned>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') cp |= static_cast<unsigned>(h - 'A' + 10);
            else return false;
        }
        return true;
    }
    bool string_value(std::string& out) {
        if (at_ >= in_.size() || in_[at_] != '"') return false;
        ++at_;
        while (at_ < in_.size()) {
            const char c = in_[at_++];
            if (c == '"') return true;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (at_ >= in_.size()) return false;
            switch (const char e = in_[at_++]) {
            case '"': case '\\': case '/': out += e; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                unsigned cp = 0;
                if (!hex4(cp)) return false;
                if (cp >= 0xD800 && cp < 0xDC00 && in_.substr(at_, 2) == "\\u") { // a surrogate pair
                    at_ += 2;
                    unsigned lo = 0;
                    if (!hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                utf8(out, cp);
                break;
            }
            default: return false;
            }
        }
        return false;
    }

    std::string_view in_;
    std::size_t at_ = 0;
};

std::string quote(std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    std::size_t plain = 0; // the start of the run of characters copied as they are
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto u = static_cast<unsigned char>(s[i]);
        if (u >= 0x20 && u != '"' && u != '\\') continue;
        out.append(s.data() + plain, i - plain);
        plain = i + 1;
        if (u == '"' || u == '\\') {
            out += '\\';
            out += s[i];
        } else {
            out += "\\u00";
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    out.append(s.data() + plain, s.size() - plain);
    out += '"';
    return out;
}

// ----------------------------------------------------------------------------- callbacks

// POSTs `body` to `u` and reads the answer's head (the harness answers 202). One connection each.
asio::awaitable<std::error_code> post_json(sse::detail::url u, std::string body) {
    auto ex = co_await asio::this_coro::executor;
    asio::ip::tcp::resolver resolver(ex);
    asio::ip::tcp::socket socket(ex);
    auto [rec, endpoints] = co_await resolver.async_resolve(u.host, u.port, sse::detail::nothrow_awaitable);
    if (rec) co_return rec;
    auto [cec, ep] = co_await asio::async_connect(socket, endpoints, sse::detail::nothrow_awaitable);
    (void)ep;
    if (cec) co_return cec;
    const std::string out = "POST " + u.target + " HTTP/1.1\r\nHost: " + u.authority() +
                            "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body;
    auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(out), sse::detail::nothrow_awaitable);
    (void)wn;
    if (wec) co_return wec;
    sse::detail::http_parser hp(sse::detail::http_parser::kind::response, 16 * 1024, 0);
    hp.pause_after_head = true;
    char buf[4096];
    for (;;) {
        auto [rdec, n] = co_await socket.async_read_some(asio::buffer(buf), sse::detail::nothrow_awaitable);
        if (rdec) co_return rdec;
        std::size_t used = 0;
        const auto r = hp.feed(buf, n, used);
        if (r == sse::detail::http_parser::result::failed) co_return hp.error();
        if (r != sse::detail::http_parser::result::need_more) break;
    }
    if (hp.status_code() / 100 != 2) co_return sse::error::bad_status;
    co_return std::error_code();
}

// ------------------------------------------------------------------------------ instances

// One client the harness created: its connection and the queue of its callbacks.
struct instance : std::enable_shared_from_this<instance> {
    int id = 0;
    sse::detail::url callback;
    std::unique_ptr<sse::connection> conn;
    std::vector<sse::event_subscription> subscriptions;
    std::set<std::string> listening;
    int counter = 0;
    std::deque<std::string> outbox;
    bool sending = false;
    bool restart_requested = false;
    bool closed = false;

    void send(std::string body) {
        if (closed) return;
        outbox.push_back(std::move(body));
        if (sending) return;
        sending = true;
        asio::co_spawn(conn->get_executor(), drain(shared_from_this()), asio::detached);
    }
    static asio::awaitable<void> drain(std::shared_ptr<instance> self) {
        while (!self->outbox.empty() && !self->closed) {
            sse::detail::url to = self->callback;
            to.target += (to.target.empty() || to.target.back() != '/' ? "/" : "") + std::to_string(++self->counter);
            const std::string body = std::move(self->outbox.front());
            self->outbox.pop_front();
            if (const auto ec = co_await post_json(std::move(to), body))
                std::cerr << "stream " << self->id << ": callback failed: " << ec.message() << '\n';
        }
        self->sending = false;
    }

    void on_event(const sse::event_view& ev) {
        send(R"({"kind":"event","event":{"type":)" + quote(ev.type) + R"(,"data":)" + quote(ev.data) + R"(,"id":)" +
             quote(ev.last_event_id) + "}}");
    }
    void on_error(const std::error_code& ec) { send(R"({"kind":"error","error":)" + quote(ec.message()) + "}"); }

    // Runs the connection; a restart cancels it and, once the run has ended, runs it again
    // (keeping its subscriptions, last event id and retry).
    void run() {
        conn->async_run([weak = weak_from_this()](std::error_code ec) {
            const auto self = weak.lock();
            if (!self || self->closed) return;
            if (std::exchange(self->restart_requested, false) && ec == asio::error::operation_aborted) return self->run();
            if (ec) self->on_error(ec == sse::error::retries_exhausted ? self->conn->last_error() : ec);
        });
    }
};

// --------------------------------------------------------------------------------- service

class service {
public:
    service(asio::io_context& ioc, const asio::ip::tcp::endpoint& where)
        : ioc_(ioc), server_(ioc, sse::joe(), options()) {
        server_.on_request([this](const sse::request& r) -> sse::request_decision { return handle(r); });
        server_.listen(where);
    }

    unsigned short port() const { return server_.local_endpoint().port(); }

private:
    static sse::server_options options() {
        sse::server_options o;
        o.one_thread = true; // (the service runs on one thread: its state needs no locks)
        return o;
    }

    static sse::response json_response(unsigned status, std::string body) {
        return sse::response(status, std::move(body), "application/json");
    }

    sse::response handle(const sse::request& r) {
        const std::string_view path = r.path();
        if (path == "/") {
            if (r.method == "GET" || r.method == "HEAD")
                return json_response(200, R"({"name":"sse-cpp sse::connection","capabilities":[)"
                                          R"("comments","bom","headers","last-event-id","post","report",)"
                                          R"("read-timeout","restart","event-type-listeners",)"
                                          R"("server-directed-shutdown-request"]})");
            if (r.method == "DELETE") {
                asio::post(ioc_, [this] { quit(); });
                return sse::response(204, "", "");
            }
            if (r.method == "POST") return create(r);
            return sse::response(405, "method not allowed\n");
        }
        if (path.substr(0, 9) == "/streams/") {
            const auto it = instances_.find(std::string(path.substr(9)));
            if (it == instances_.end()) return sse::response(404, "no such stream\n");
            if (r.method == "DELETE") {
                close(*it->second);
                instances_.erase(it);
                return sse::response(204, "", "");
            }
            if (r.method == "POST") return command(*it->second, r.body);
            return sse::response(405, "method not allowed\n");
        }
        return sse::response(404, "not found\n");
    }

    sse::response create(const sse::request& r) {
        json p;
        if (!json_parser(r.body).parse(p) || p.kind != json::object) return sse::response(400, "not a JSON object\n");
        const auto stream_url = p.str("streamUrl");
        const auto callback_url = p.str("callbackUrl");
        if (!stream_url || !callback_url) return sse::response(400, "streamUrl and callbackUrl are required\n");

        auto inst = std::make_shared<instance>();
        std::error_code ec;
        inst->callback = sse::detail::parse_url(*callback_url, ec);
        if (ec) return sse::response(400, "bad callbackUrl\n");

        sse::request req;
        req.target = *stream_url;
        if (const auto m = p.str("method")) req.method = *m;
        if (const auto b = p.str("body")) req.body = *b;
        if (const json* h = p.get("headers"); h && h->kind == json::object)
            for (const auto& [name, value] : h->o)
                if (value.kind == json::string) req.headers.push_back({name, value.s});
        if (const auto id = p.str("lastEventId")) req.headers.push_back({"Last-Event-ID", *id});

        sse::client cfg;
        cfg.max_event_size = 64 * 1024 * 1024; // the suite sends a 10 MiB event (the default limit is 8 MiB)
        if (const auto d = p.integer("initialDelayMs")) cfg.backoff.initial_interval = std::chrono::milliseconds(*d);
        if (const auto t = p.integer("readTimeoutMs")) cfg.idle_timeout = std::chrono::milliseconds(*t);
        std::weak_ptr<instance> weak = inst;
        cfg.on_retry = [weak](std::error_code cause, std::chrono::milliseconds) {
            const auto self = weak.lock();
            if (self && cause != sse::error::stream_ended) self->on_error(cause); // a clean end is no error
        };

        inst->id = ++next_id_;
        inst->conn = std::make_unique<sse::connection>(ioc_.get_executor(), std::move(req), std::move(cfg));
        // Unnamed events always (as EventSource's onmessage); other types after "listen".
        inst->subscriptions.push_back(inst->conn->subscribe_messages([weak](const sse::event_view& ev) {
            if (const auto self = weak.lock()) self->on_event(ev);
        }));
        inst->subscriptions.push_back(inst->conn->subscribe_comments([weak](std::string_view text) {
            if (const auto self = weak.lock())
                self->send(R"({"kind":"comment","comment":)" + quote(text) + "}");
        }));
        inst->run();
        instances_.emplace(std::to_string(inst->id), inst);

        std::string host(r.header_value("Host"));
        if (host.empty()) host = "127.0.0.1:" + std::to_string(port());
        sse::response res(201, "", "");
        res.headers.push_back({"Location", "http://" + host + "/streams/" + std::to_string(inst->id)});
        return res;
    }

    sse::response command(instance& inst, const std::string& body) {
        json c;
        if (!json_parser(body).parse(c) || c.kind != json::object) return sse::response(400, "not a JSON object\n");
        const auto name = c.str("command");
        if (name == "restart") {
            inst.restart_requested = true;
            inst.conn->cancel();
            return sse::response(204, "", "");
        }
        if (name == "listen") {
            const json* l = c.get("listen");
            const auto type = l ? l->str("type") : std::nullopt;
            if (!type) return sse::response(400, "listen needs listen.type\n");
            if (*type != "message" && inst.listening.insert(*type).second) {
                std::weak_ptr<instance> weak = inst.weak_from_this();
                inst.subscriptions.push_back(inst.conn->subscribe_event(*type, [weak](const sse::event_view& ev) {
                    if (const auto self = weak.lock()) self->on_event(ev);
                }));
            }
            return sse::response(204, "", "");
        }
        return sse::response(400, "unknown command\n");
    }

    static void close(instance& inst) {
        inst.closed = true;
        for (auto& s : inst.subscriptions) s.unsubscribe();
        inst.conn->cancel();
    }

    void quit() {
        for (auto& [id, inst] : instances_) close(*inst);
        instances_.clear();
        ioc_.stop();
    }

    asio::io_context& ioc_;
    sse::server server_;
    std::map<std::string, std::shared_ptr<instance>> instances_;
    int next_id_ = 0;
};

} // namespace

int main(int argc, char** argv) {
    unsigned short port = 8000;
    std::string host = "127.0.0.1";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view a = argv[i];
        if (a == "--port") port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
        else if (a == "--host") host = argv[i + 1];
        else {
            std::cerr << "usage: sse_contract_service [--port N] [--host ADDRESS]\n";
            return 2;
        }
    }
    try {
        asio::io_context ioc(1);
        service svc(ioc, {asio::ip::make_address(host), port});
        asio::signal_set signals(ioc, SIGINT, SIGTERM);
        signals.async_wait([&](std::error_code, int) { ioc.stop(); });
        std::cout << "listening on " << svc.port() << std::endl;
        ioc.run();
    } catch (const std::exception& e) {
        std::cerr << "sse_contract_service: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
