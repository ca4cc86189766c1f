// Problems seen on worker threads, checked on the main thread (Catch2's
// assertions belong to the main thread): the first 20 kept as text, all counted.
//
//   sse_test::problems trouble;
//   ... on any thread: trouble.add("subscriber 3: got 7 after 9");
//   CHECK_NO_PROBLEMS(trouble);
#ifndef SSE_TESTS_SUPPORT_PROBLEMS_HPP
#define SSE_TESTS_SUPPORT_PROBLEMS_HPP

#include <cstddef>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace sse_test {

class problems {
public:
    void add(std::string what) {
        std::lock_guard lock(mutex_);
        ++count_;
        if (list_.size() < 20) list_.push_back(std::move(what));
    }
    std::size_t count() const {
        std::lock_guard lock(mutex_);
        return count_;
    }
    std::string text() const {
        std::lock_guard lock(mutex_);
        std::string out;
        for (const std::string& s : list_) out += s + "\n";
        return out;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::string> list_;
    std::size_t count_ = 0;
};

} // namespace sse_test

#define CHECK_NO_PROBLEMS(p)                  \
    do {                                      \
        INFO((p).text());                     \
        CHECK((p).count() == 0);              \
    } while (false)

#endif
