// A replayer written against the sse::replayer concept only, as a user
// would: keeps every message forever in a vector; ids are the publisher's.
#ifndef SSE_TESTS_SUPPORT_VECTOR_REPLAYER_HPP
#define SSE_TESTS_SUPPORT_VECTOR_REPLAYER_HPP

#include <sse/error.hpp>
#include <sse/message.hpp>
#include <sse/provider.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace sse_test {

// How often joe called a replayer (kept outside it: joe owns the replayer).
struct replayer_calls {
    std::size_t puts = 0;
    std::size_t replays = 0;
};

// Keeps every message forever in a vector; ids are the publisher's.
class vector_replayer {
public:
    explicit vector_replayer(std::shared_ptr<replayer_calls> calls = std::make_shared<replayer_calls>())
        : calls_(std::move(calls)) {}

    sse::frame put(const sse::message& m, sse::topic_list topics, std::error_code& ec) {
        ++calls_->puts;
        if (topics.empty()) {
            ec = sse::error::no_topic;
            return {};
        }
        if (!m.id.is_set()) {
            ec = sse::error::no_id;
            return {};
        }
        ec.clear();
        entries_.push_back({m.id.str(), std::vector<std::string>(topics.begin(), topics.end()), sse::frame(m)});
        return entries_.back().bytes;
    }

    sse::replay_result replay(const sse::subscription& sub, std::error_code& ec) {
        ++calls_->replays;
        ec.clear();
        sse::replay_result result;
        std::size_t i = 0;
        while (i < entries_.size() && entries_[i].id != sub.last_event_id.view()) ++i;
        if (i == entries_.size()) {
            result.gap = true;
            return result;
        }
        for (++i; i < entries_.size(); ++i) {
            bool wanted = false;
            for (const std::string& t : entries_[i].topics)
                for (const std::string& s : sub.topics) wanted = wanted || t == s;
            if (!wanted) continue;
            if (sub.client->send(entries_[i].bytes) != sse::delivery::accepted) {
                ec = sse::error::queue_overflow;
                return result;
            }
            ++result.replayed;
        }
        return result;
    }

private:
    struct entry {
        std::string id;
        std::vector<std::string> topics;
        sse::frame bytes;
    };
    std::shared_ptr<replayer_calls> calls_;
    std::vector<entry> entries_;
};

static_assert(sse::replayer<vector_replayer>);

} // namespace sse_test

#endif
