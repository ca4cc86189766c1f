// Streams a chat completion from an OpenAI-compatible endpoint and prints the
// tokens as they arrive.
//
//   LLM_URL=https://api.openai.com/v1/chat/completions LLM_API_KEY=... LLM_MODEL=gpt-4o-mini
//   llm_read "Say hello"
//
// The stream ends with `data: [DONE]`; the client is told not to reconnect.
#include <sse/client.hpp>
#include <sse/ssl.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

std::string json_quote(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') (out += '\\') += static_cast<char>(c);
        else if (c == '\n') out += "\\n";
        else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else out += static_cast<char>(c);
    }
    return out + "\"";
}

// The "content" string of choices[0].delta, undoing JSON escapes (enough for
// a demo; a real program would use a JSON library).
std::string delta_content(std::string_view json) {
    const std::string_view key = "\"content\":";
    std::size_t at = json.find(key);
    if (at == std::string_view::npos) return {};
    at = json.find_first_not_of(' ', at + key.size());
    if (at == std::string_view::npos || json[at] != '"') return {};
    std::string out;
    for (std::size_t i = at + 1; i < json.size() && json[i] != '"'; ++i) {
        if (json[i] != '\\' || i + 1 >= json.size()) {
            out += json[i];
            continue;
        }
        switch (json[++i]) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'u': // keep \uXXXX as is: printing it is enough for a demo
            out += "\\u";
            break;
        default: out += json[i];
        }
    }
    return out;
}

const char* env(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

} // namespace

int main(int argc, char** argv) {
    const std::string prompt = argc > 1 ? argv[1] : "Say hello in five words.";
    sse::request req;
    req.method = "POST";
    req.target = env("LLM_URL", "https://api.openai.com/v1/chat/completions");
    req.headers = {{"Content-Type", "application/json"},
                   {"Authorization", std::string("Bearer ") + env("LLM_API_KEY", env("OPENAI_API_KEY", ""))}};
    req.body = std::string("{\"model\":") + json_quote(env("LLM_MODEL", "gpt-4o-mini")) +
               ",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":" + json_quote(prompt) + "}]}";

    sse::client cfg;
    cfg.backoff.max_retries = -1; // one answer: don't reconnect at its end
    sse::use_tls(cfg);

    sse::connection conn(req, cfg);
    conn.subscribe_messages([&](const sse::event_view& ev) {
        if (ev.data == "[DONE]") return conn.cancel();
        const std::string token = delta_content(ev.data);
        std::fwrite(token.data(), 1, token.size(), stdout);
        std::fflush(stdout);
    });
    std::error_code ec;
    conn.run(ec);
    std::printf("\n");
    if (ec && ec != asio::error::operation_aborted) {
        std::fprintf(stderr, "llm_read: %s (HTTP %u)\n", ec.message().c_str(), conn.last_status());
        return 1;
    }
    return 0;
}
