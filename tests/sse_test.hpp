// The one header sse's tests include: Catch2 v3 or v2 (Debian 12 ships 2.13), one spelling.
//
//   TEST_CASE, SECTION, REQUIRE, CHECK, REQUIRE_THROWS_AS, GENERATE, TEMPLATE_TEST_CASE ... as usual
//   Catch::Approx(x) (or Approx(x))
//   Catch::Matchers::ContainsSubstring / StartsWith / EndsWith / Message (v3 names, also on v2)
//   SSE_CONTAINS(s), SSE_STARTS_WITH(s), SSE_ENDS_WITH(s), SSE_MESSAGE(s): the same matchers
//   SSE_SKIP(dependency, msg): `dependency` (e.g. "node") is missing: fail, unless the developer
//                              opted out of it (SSE_TEST_WITHOUT="node redis-server"); then skip
//                              the rest of the test case (v3: SKIP; v2: a warning and return,
//                              which Catch2 2.13 counts as passed: scripts/test.sh's summary names
//                              the skipped cases instead)
#ifndef SSE_TESTS_SSE_TEST_HPP
#define SSE_TESTS_SSE_TEST_HPP

#if !defined(SSE_TEST_CATCH2_MAJOR)
#    if __has_include(<catch2/catch_test_macros.hpp>)
#        define SSE_TEST_CATCH2_MAJOR 3
#    else
#        define SSE_TEST_CATCH2_MAJOR 2
#    endif
#endif

#if SSE_TEST_CATCH2_MAJOR >= 3

#    include <catch2/catch_approx.hpp>
#    include <catch2/catch_template_test_macros.hpp>
#    include <catch2/catch_test_macros.hpp>
#    include <catch2/generators/catch_generators.hpp>
#    include <catch2/generators/catch_generators_adapters.hpp>
#    include <catch2/generators/catch_generators_random.hpp>
#    include <catch2/generators/catch_generators_range.hpp>
#    include <catch2/matchers/catch_matchers.hpp>
#    include <catch2/matchers/catch_matchers_exception.hpp>
#    include <catch2/matchers/catch_matchers_string.hpp>
#    include <catch2/matchers/catch_matchers_vector.hpp>

using Catch::Approx;

#    define SSE_SKIP_NOW(...) SKIP(__VA_ARGS__)

#else

#    include <catch2/catch.hpp>

#    include <string>

namespace Catch {
using Detail::Approx;
namespace Matchers {
// Catch2 v3's name for v2's string Contains.
inline StdString::ContainsMatcher ContainsSubstring(std::string const& str,
                                                    CaseSensitive::Choice cs = CaseSensitive::Yes) {
    return Contains(str, cs);
}
}  // namespace Matchers
}  // namespace Catch

#    define SSE_SKIP_NOW(...)  \
        do {                   \
            WARN(__VA_ARGS__); \
            return;            \
        } while (false)

#endif

#include <algorithm>
#include <cstdlib>
#include <string_view>

namespace sse_test {

/// Whether the developer opted out of the tests that need `dependency`: SSE_TEST_WITHOUT lists
/// such dependencies, separated by spaces or commas. Without it a missing dependency fails its
/// tests: the suite never shrinks silently.
inline bool opted_out(std::string_view dependency) {
    const char* list = std::getenv("SSE_TEST_WITHOUT");
    std::string_view rest = list ? list : "";
    while (!rest.empty()) {
        const std::size_t start = rest.find_first_not_of(" ,\t");
        if (start == std::string_view::npos) break;
        rest.remove_prefix(start);
        const std::size_t end = std::min(rest.find_first_of(" ,\t"), rest.size());
        if (rest.substr(0, end) == dependency) return true;
        rest.remove_prefix(end);
    }
    return false;
}

} // namespace sse_test

#define SSE_SKIP(dependency, ...)                                                                    \
    do {                                                                                            \
        if (!::sse_test::opted_out(dependency))                                                     \
            FAIL(dependency << " is missing and SSE_TEST_WITHOUT does not name it: install it "     \
                            << "(scripts/deps.sh), or opt out of its tests with SSE_TEST_WITHOUT=" \
                            << dependency << " -- " << __VA_ARGS__);                                \
        SSE_SKIP_NOW("SKIPPED (SSE_TEST_WITHOUT=" << dependency << "): " << __VA_ARGS__);           \
    } while (false)

#define SSE_CONTAINS(...) ::Catch::Matchers::ContainsSubstring(__VA_ARGS__)
#define SSE_STARTS_WITH(...) ::Catch::Matchers::StartsWith(__VA_ARGS__)
#define SSE_ENDS_WITH(...) ::Catch::Matchers::EndsWith(__VA_ARGS__)
#define SSE_MESSAGE(...) ::Catch::Matchers::Message(__VA_ARGS__)

#endif
