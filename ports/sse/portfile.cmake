# vcpkg overlay port of sse (header-only C++20 server-sent events).
#
#   vcpkg install sse --overlay-ports=<sse checkout>/ports          # or sse[ssl], sse[redis]
#
# The features only bring their dependency (OpenSSL for <sse/ssl.hpp>, hiredis for
# <sse/redis.hpp>); the installed headers are the same. tests/consumers/run.sh runs this file's
# configure and install steps (the OPTIONS below, read from here) without vcpkg.

# Header-only: nothing differs between debug and release, so only release is built.
set(VCPKG_BUILD_TYPE release)

if(EXISTS "${CMAKE_CURRENT_LIST_DIR}/../../include/sse/sse.hpp")
    # Used as an overlay port from an sse checkout: package that checkout. vcpkg's binary cache
    # doesn't see edits to it; reinstall with --no-binarycaching after changing the sources.
    get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
else()
    # Copied into a registry: fetch the release. OWNER is a placeholder for the repository's
    # home (as in vcpkg.json's homepage); vcpkg prints the real SHA512 on the first attempt.
    vcpkg_from_github(
        OUT_SOURCE_PATH SOURCE_PATH
        REPO OWNER/sse
        REF "v${VERSION}"
        SHA512 0
        HEAD_REF main
    )
endif()

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        -DSSE_BUILD_TESTS=OFF
        -DSSE_BUILD_EXAMPLES=OFF
        -DSSE_BUILD_BENCH=OFF
        -DSSE_INSTALL=ON
        # vcpkg wants a package's CMake files in share/<port>, and a .pc file with a Libs: line
        # (sse.pc has -pthread) in lib/pkgconfig, not share/pkgconfig (sse's defaults).
        -DSSE_INSTALL_CMAKEDIR=share/sse
        -DSSE_INSTALL_PKGCONFIGDIR=lib/pkgconfig
)

vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME sse CONFIG_PATH share/sse)
vcpkg_fixup_pkgconfig()

file(REMOVE_RECURSE
    "${CURRENT_PACKAGES_DIR}/debug/include"
    "${CURRENT_PACKAGES_DIR}/debug/share")

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
