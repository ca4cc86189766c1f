// TLS (opt-in: needs OpenSSL). Client: https URLs work once a client has a
// TLS context — sse::use_tls(cfg) with the system trust store, or options for
// a custom CA; SNI and host name verification are on. Server: sse::tls_server
// serves HTTPS with a given certificate (make_tls_server_context).
#ifndef SSE_SSL_HPP
#define SSE_SSL_HPP

#include <sse/client.hpp>
#include <sse/error.hpp>
#include <sse/server.hpp>

#include <asio/ip/address.hpp>
#include <asio/ssl.hpp>

#include <memory>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>

namespace sse {

/// How a client checks servers.
struct tls_options {
    /// Verify the server's certificate chain and host name (leave it on).
    bool verify_peer = true;
    /// A PEM file of CA certificates to trust instead of the system store.
    std::string ca_file{};
};

/// A client TLS context: the system trust store (or options.ca_file),
/// peer verification as configured. Throws std::system_error on a bad CA file.
inline std::shared_ptr<asio::ssl::context> make_tls_client_context(const tls_options& options = {}) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    if (options.ca_file.empty()) ctx->set_default_verify_paths();
    else ctx->load_verify_file(options.ca_file);
    ctx->set_verify_mode(options.verify_peer ? asio::ssl::verify_peer : asio::ssl::verify_none);
    return ctx;
}

namespace detail {

class tls_stream final : public byte_stream {
public:
    tls_stream(const asio::any_io_executor& ex, asio::ssl::context& ctx, bool verify)
        : stream_(ex, ctx), verify_(verify) {}

    asio::ip::tcp::socket& socket() noexcept override { return stream_.next_layer(); }

    asio::awaitable<std::error_code> handshake(const std::string& host) override {
        std::error_code ec;
        asio::ip::make_address(host, ec);
        const bool is_ip = !ec; // SNI is for names only
        if (!is_ip && !SSL_set_tlsext_host_name(stream_.native_handle(), host.c_str())) // SNI
            co_return std::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
        if (verify_) stream_.set_verify_callback(asio::ssl::host_name_verification(host));
        auto [hec] = co_await stream_.async_handshake(asio::ssl::stream_base::client, nothrow_awaitable);
        co_return hec;
    }
    asio::awaitable<std::tuple<std::error_code, std::size_t>> read_some(asio::mutable_buffer b) override {
        auto [ec, n] = co_await stream_.async_read_some(b, nothrow_awaitable);
        // A peer that closes without close_notify ends the stream like a TCP close.
        if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
        co_return std::tuple<std::error_code, std::size_t>(ec, n);
    }
    asio::awaitable<std::error_code> write(asio::const_buffer b) override {
        auto [ec, n] = co_await asio::async_write(stream_, b, nothrow_awaitable);
        (void)n;
        co_return ec;
    }
    // TLS errors (an untrusted or mismatched certificate, no common protocol)
    // don't go away by reconnecting; network errors during the handshake may.
    bool permanent(const std::error_code& ec) const noexcept override {
        return ec.category() == asio::error::get_ssl_category();
    }

private:
    asio::ssl::stream<asio::ip::tcp::socket> stream_;
    bool verify_;
};

class tls_factory_impl final : public tls_factory {
public:
    explicit tls_factory_impl(std::shared_ptr<asio::ssl::context> ctx)
        : ctx_(std::move(ctx)), verify_(SSL_CTX_get_verify_mode(ctx_->native_handle()) != SSL_VERIFY_NONE) {}
    std::unique_ptr<byte_stream> make(const asio::any_io_executor& ex) override {
        return std::make_unique<tls_stream>(ex, *ctx_, verify_);
    }

private:
    std::shared_ptr<asio::ssl::context> ctx_;
    bool verify_;
};

} // namespace detail

/// A server TLS context with a PEM certificate chain and private key.
/// Throws std::system_error if they can't be loaded.
inline std::shared_ptr<asio::ssl::context> make_tls_server_context(const std::string& certificate_chain_file,
                                                                   const std::string& private_key_file) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                     asio::ssl::context::single_dh_use);
    ctx->use_certificate_chain_file(certificate_chain_file);
    ctx->use_private_key_file(private_key_file, asio::ssl::context::pem);
    return ctx;
}

/// TLS streams for basic_server: the handshake happens before the request is read.
template <>
struct server_stream_traits<asio::ssl::stream<asio::ip::tcp::socket>> {
    /// The server's TLS context (make_tls_server_context).
    using context = std::shared_ptr<asio::ssl::context>;
    /// Wraps an accepted socket; throws std::system_error (invalid_argument) without a context.
    static asio::ssl::stream<asio::ip::tcp::socket> make(asio::ip::tcp::socket s, const context& ctx) {
        if (!ctx) detail::throw_error(error::invalid_argument, "sse::tls_server needs a TLS context");
        return asio::ssl::stream<asio::ip::tcp::socket>(std::move(s), *ctx);
    }
    template <class Handler>
    /// The server side of the TLS handshake.
    static void async_open(asio::ssl::stream<asio::ip::tcp::socket>& s, Handler&& h) {
        s.async_handshake(asio::ssl::stream_base::server, std::forward<Handler>(h));
    }
};

/// An HTTPS server: pass make_tls_server_context(...) as its last constructor argument.
template <provider Provider = joe>
using basic_tls_server = basic_server<Provider, asio::ssl::stream<asio::ip::tcp::socket>>;
/// An HTTPS server on Joe.
using tls_server = basic_tls_server<joe>;

/// Lets `c` open https URLs with `ctx` (by default the system trust store
/// with verification on).
inline void use_tls(client& c, std::shared_ptr<asio::ssl::context> ctx = make_tls_client_context()) {
    c.tls = std::make_shared<detail::tls_factory_impl>(std::move(ctx));
}

} // namespace sse

#endif
