// The test runner's main. With Catch2 v2 it is compiled here; with Catch2 v3 it comes from
// Catch2::Catch2WithMain and this file is empty.
#if !defined(SSE_TEST_CATCH2_MAJOR)
#    if __has_include(<catch2/catch_test_macros.hpp>)
#        define SSE_TEST_CATCH2_MAJOR 3
#    else
#        define SSE_TEST_CATCH2_MAJOR 2
#    endif
#endif

#if SSE_TEST_CATCH2_MAJOR == 2
#    define CATCH_CONFIG_MAIN
#    include <catch2/catch.hpp>
#endif
